"""Seconds per training iteration of the published-protocol presets, on one thread, start-up excluded: what a
published budget costs on this machine before it is started.

    python -m experiments.bench.protocol_cost [--iterations 20] [--data-root DIR] [--cases name …]

Each case is a preset plus overrides (``CASES``); the clock runs from the start of the second iteration to the end
of the last (the first carries data loading and lazy set-up). Metric callbacks and sample grids are switched off:
this times the training step the protocol repeats.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pytorch_lightning as pl

CASES = {
    "ring_pacgan": ["experiment=ring_pacgan"],
    "grid_pacgan": ["experiment=grid_pacgan"],
    "grid_pacgan4": ["experiment=grid_pacgan", "model.discriminator.pack=4"],
    "grid_pacgan_k5_first": ["experiment=grid_pacgan", "model.unroll_steps=5", "model.unroll_mode=first_order"],
    "grid_pacgan_k5_second": ["experiment=grid_pacgan", "model.unroll_steps=5", "model.unroll_mode=second_order"],
    "stacked_mnist_metz_k0": ["experiment=stacked_mnist_metz", "model.unroll_steps=0"],
    "stacked_mnist_metz_k10": ["experiment=stacked_mnist_metz", "model.unroll_steps=10"],
    "mnist_began_paper": ["experiment=mnist_began_paper"],
}
#: The published budget of each preset, in iterations.
BUDGET = {"ring_pacgan": 400_000, "grid_pacgan": 400_000, "stacked_mnist_metz": 500_000}


class Clock(pl.Callback):
    def __init__(self):
        self.start: float | None = None
        self.end: float | None = None
        self.timed = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration == 1 and self.start is None:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.start is not None:
            self.end, self.timed = time.perf_counter(), self.timed + 1


def time_case(name: str, iterations: int, data_root: str | None) -> float:
    import torch
    from hydra import compose, initialize_config_dir

    from ganlab.common.errors import CONF_DIR
    from ganlab.composition.build import build

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp, initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        overrides = [*CASES[name], f"model.max_iterations={iterations + 1}", "logger=none", f"paths.run_dir={tmp}"]
        overrides += ["trainer.enable_progress_bar=false"]
        cfg = compose("train", overrides=overrides + ([f"paths.data_root={data_root}"] if data_root else []))
        for key in ("metrics", "sample_grid", "mode_coverage", "last_checkpoint", "checkpoint", "diagnostics"):
            if key in cfg.callbacks:
                cfg.callbacks[key] = None
        if "length" in cfg.data:
            cfg.data.length = max(cfg.data.batch_size * (iterations + 2), 1024)  # no 256 000-stack index to draw
        datamodule, module, trainer = build(cfg)
        clock = Clock()
        trainer.callbacks.append(clock)
        trainer.fit(module, datamodule=datamodule)
        return (clock.end - clock.start) / clock.timed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--data-root", help="root with MNIST/raw/*.gz (the image presets)")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args(argv)
    print("| case | s / iteration | published budget | one core for the budget |\n|---|---|---|---|")
    for name in args.cases:
        seconds = time_case(name, args.iterations, args.data_root)
        preset = CASES[name][0].removeprefix("experiment=")
        budget = BUDGET.get(preset)
        hours = f"{seconds * budget / 3600:.1f} h" if budget else "—"
        print(f"| {name} | {seconds:.4f} | {budget or '—'} | {hours} |", flush=True)


if __name__ == "__main__":
    main()
