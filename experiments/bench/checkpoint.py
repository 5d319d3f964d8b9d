"""Cost of checkpointing, measured against the training it protects, in the same run.

For each preset (default: ``mnist_dcgan`` and ``ring_unrolled``), built exactly as ``ganlab-train`` builds it:
1. the time of one training iteration (median over ``--iterations`` after a warm-up), hence of one epoch;
2. the time of writing ``last.ckpt`` (``trainer.save_checkpoint``: weights, optimizer states, loop and
   dataloader state, the noise and global RNG states, the run config), median of ``--saves`` writes, and its size;
3. the per-iteration cost of the run-checkpoint callback's check (``RunCheckpoint.on_train_batch_end``
   without a signal), median over 10 000 calls;
4. the per-iteration cost of the divergence guard (``DivergenceGuard``: every optimizer's gradient check plus the
   end-of-iteration weight check), mean over 2 000 iterations' worth of calls.
Prints the overheads (save / epoch time, check / iteration time) and writes experiments/bench/out/checkpoint.json.

    python -m experiments.bench.checkpoint [--presets mnist_dcgan,ring_unrolled] [--iterations 30] [--saves 10]

MNIST comes from ``$GANLAB_DATA_DIR`` or ../shared/data (the .gz files are linked into a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir

from ganlab.callbacks import DivergenceGuard, RunCheckpoint
from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).parent / "out"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


class IterationTimer(pl.Callback):
    def __init__(self):
        self.starts, self.times = [], []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.starts.append(time.perf_counter())

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.times.append(time.perf_counter() - self.starts[-1])


def linked_data_root(source: Path, tmp: Path) -> Path:
    raw = tmp / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in (*MNIST_FILES, "t10k-labels-idx1-ubyte.gz"):
        (raw / name).symlink_to(source / "MNIST" / "raw" / name)
    return tmp / "data"


def measure(preset: str, data_root: Path, run_dir: Path, iterations: int, saves: int) -> dict:
    overrides = [
        f"experiment={preset}",
        f"paths.run_dir={run_dir}",
        f"model.max_iterations={iterations + 5}",
        "logger=none",
        "trainer.enable_progress_bar=false",
    ]
    if preset.startswith(("mnist", "fashion")):
        overrides.append(f"data.root={data_root}")
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    datamodule, module, trainer = build(cfg)
    timer = IterationTimer()
    trainer.callbacks.append(timer)
    trainer.fit(module, datamodule=datamodule)
    iteration_s = statistics.median(timer.times[5:])
    per_epoch = trainer.num_training_batches

    path = run_dir / "bench.ckpt"
    save_times = []
    for _ in range(saves):
        start = time.perf_counter()
        trainer.save_checkpoint(path)
        save_times.append(time.perf_counter() - start)
    save_s = statistics.median(save_times)

    check = RunCheckpoint(str(run_dir))
    start = time.perf_counter()
    for _ in range(10_000):
        check.on_train_batch_end(trainer, module, None, None, 0)
    check_s = (time.perf_counter() - start) / 10_000

    guard = DivergenceGuard()
    guard.on_train_start(trainer, module)
    for p in module.parameters():
        p.grad = torch.zeros_like(p)  # a gradient per weight, as after a step
    start = time.perf_counter()
    for _ in range(2_000):
        for optimizer in trainer.optimizers:
            guard.on_before_optimizer_step(trainer, module, optimizer)
        guard.on_train_batch_end(trainer, module, None, None, 0)
    guard_s = (time.perf_counter() - start) / 2_000

    epoch_s = iteration_s * per_epoch
    return {
        "preset": preset,
        "iteration_s": iteration_s,
        "iterations_per_epoch": per_epoch,
        "epoch_s": epoch_s,
        "checkpoint_mb": path.stat().st_size / 2**20,
        "save_s": save_s,
        "save_s_range": [min(save_times), max(save_times)],
        "save_per_epoch_pct": 100 * save_s / epoch_s,
        "signal_check_s": check_s,
        "signal_check_per_iteration_pct": 100 * check_s / iteration_s,
        "guard_s": guard_s,
        "guard_per_iteration_pct": 100 * guard_s / iteration_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="mnist_dcgan,ring_unrolled")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--saves", type=int, default=10)
    default_root = os.environ.get("GANLAB_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    parser.add_argument("--data-root", default=default_root)
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data_root = linked_data_root(Path(args.data_root), Path(tmp))
        for preset in args.presets.split(","):
            row = measure(preset, data_root, Path(tmp) / preset, args.iterations, args.saves)
            results.append(row)
            print(
                f"{preset}: iteration {row['iteration_s'] * 1e3:.1f} ms × {row['iterations_per_epoch']} = epoch "
                f"{row['epoch_s']:.1f} s | last.ckpt {row['checkpoint_mb']:.2f} MiB written in "
                f"{row['save_s'] * 1e3:.1f} ms = {row['save_per_epoch_pct']:.3f} % of an epoch | signal check "
                f"{row['signal_check_s'] * 1e6:.2f} µs = {row['signal_check_per_iteration_pct']:.4f} % of an "
                f"iteration | divergence guard {row['guard_s'] * 1e6:.1f} µs = "
                f"{row['guard_per_iteration_pct']:.2f} % of an iteration"
            )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "checkpoint.json").write_text(json.dumps({"threads": torch.get_num_threads(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
