"""Issue #20's targets, each a ratio against a baseline measured in the same run (alternating pairs, one thread):

- ``ring_k0``: ganlab's iteration on ``ring_unrolled`` with k = 0 (the preset's callbacks and CSV logger, as
  ``ganlab-train`` builds it) ÷ the plain loop (``experiments/bench/plain.py``) — target ≤ 1.10;
- ``dcgan``: the same on ``mnist_dcgan`` (batch 100, MNIST) — target ≤ 1.03;
- ``unrolled_k5``: first-order k = 5 ÷ the lower bound (the plain k = 0 iteration plus 5 real D updates) — ≤ 1.02;
- ``second_order_k5``: second-order k = 5 ÷ the plain foreach implementation of the same maths — ≤ 1.05;
- ``whole_run``: the wall time of ``ganlab-train experiment=ring_unrolled`` (3 000 iterations, its epoch-end
  metrics, plots, checkpoints and logs) ÷ a plain script doing the same iterations and the same final metrics
  (mode coverage of 2 500 samples, metrics.json, a final checkpoint), both as fresh processes — ≤ 1.15.

Per-iteration figures: one baseline iteration runs inside each ganlab iteration (``Interleaved``), so both are
timed at the same moments; means over the iterations after ``--warmup``. ganlab's exclude the iterations that cross
an epoch end (their extra cost is reported apart as ``epoch_end_ms``, and counted in ``whole_run``).

    python -m experiments.bench.fastpath [--repeats 5] [--iterations 200] [--whole-repeats 3] [--only ring_k0 …]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from experiments.bench.plain import PlainLoop, run_plain

OUT = Path(__file__).parent / "out"
ROOT = Path(__file__).resolve().parents[2]
RING = ["experiment=ring_unrolled"]
TARGETS = {"ring_k0": 1.10, "dcgan": 1.03, "unrolled_k5": 1.02, "second_order_k5": 1.05, "whole_run": 1.15}


def compose(overrides: list[str], run_dir: Path):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from ganlab.common.errors import CONF_DIR

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose("train", overrides=[*overrides, f"paths.run_dir={run_dir}"])


class Interleaved(pl.Callback):
    """Runs one baseline iteration inside each ganlab iteration (at its batch start, or at its batch end), so the two
    are timed at the same moments and the machine's drift (±30 % between minutes on this VM) hits both alike.
    ganlab's iteration is the time from the end of one baseline iteration to the start of the next; iterations that
    cross an epoch end are kept apart."""

    def __init__(self, baseline: PlainLoop, at_batch_end: bool):
        self.baseline, self.at_batch_end = baseline, at_batch_end
        self.ganlab: list[float] = []
        self.crossing: list[float] = []
        self.plain: list[float] = []
        self._end: float | None = None

    def _interleave(self, crossed_epoch: bool) -> None:
        start = time.perf_counter()
        if self._end is not None:
            (self.crossing if crossed_epoch else self.ganlab).append(start - self._end)
        self.baseline.step()
        self._end = time.perf_counter()
        self.plain.append(self._end - start)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if not self.at_batch_end:
            self._interleave(batch_idx == 0)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.at_batch_end:
            self._interleave(batch_idx == 0)


def interleaved_run(overrides: list[str], plain_overrides: list[str], plain_kwargs: dict, iterations: int,
                    at_batch_end: bool) -> Interleaved:  # fmt: skip
    from ganlab.composition.build import build

    with tempfile.TemporaryDirectory() as tmp:
        baseline = PlainLoop(compose([*plain_overrides, f"model.max_iterations={iterations}"], Path(tmp)),
                             **plain_kwargs)  # fmt: skip
        cfg = compose([*overrides, f"model.max_iterations={iterations}"], Path(tmp) / "run")
        datamodule, module, trainer = build(cfg)
        clock = Interleaved(baseline, at_batch_end)
        trainer.callbacks.append(clock)
        trainer.fit(module, datamodule=datamodule)
    return clock


def mean_after(values: list[float], warmup: int) -> float:
    return statistics.fmean(values[warmup:])


def pair_ratio(name: str, ganlab_overrides: list[str], plain_overrides: list[str], plain_kwargs: dict, args) -> dict:
    """One interleaved run per repeat (the baseline at ganlab's batch starts in even repeats, at its batch ends in
    odd ones); the median of the per-run ratios of mean iteration times."""
    runs = []
    for repeat in range(args.repeats):
        clock = interleaved_run(ganlab_overrides, plain_overrides, plain_kwargs, args.iterations + args.warmup + 1,
                                at_batch_end=repeat % 2 == 1)  # fmt: skip
        ganlab, plain = mean_after(clock.ganlab, args.warmup), mean_after(clock.plain, args.warmup + 1)
        runs.append({"ganlab": ganlab, "plain": plain, "crossing": [c - ganlab for c in clock.crossing]})
    ratios = [r["ganlab"] / r["plain"] for r in runs]
    epoch_ends = [c for r in runs for c in r["crossing"]]
    result = {
        "ganlab_ms": [round(1e3 * r["ganlab"], 3) for r in runs],
        "baseline_ms": [round(1e3 * r["plain"], 3) for r in runs],
        "ratios": [round(r, 4) for r in ratios],
        "ratio_median": round(statistics.median(ratios), 4),
        "target": TARGETS[name],
        "epoch_end_ms": round(1e3 * statistics.median(epoch_ends), 1) if epoch_ends else None,
    }
    met = "met" if result["ratio_median"] <= result["target"] else "NOT met"
    print(
        f"{name}: ganlab {statistics.median(result['ganlab_ms']):.2f} ms, baseline "
        f"{statistics.median(result['baseline_ms']):.2f} ms per iteration; ratio {result['ratio_median']:.3f} "
        f"(runs {', '.join(f'{r:.3f}' for r in ratios)}; target ≤ {TARGETS[name]}: {met})",
        flush=True,
    )
    return result


# ------------------------------------------------------------------------------------------------ the whole run
def plain_whole_run(run_dir: Path) -> None:
    """The plain script of ``whole_run``: ring_unrolled's iterations, then its final metrics and checkpoint."""
    from ganlab.metrics.modes import mode_coverage

    torch.set_num_threads(1)
    cfg = compose(RING, run_dir)
    _, loop = run_plain(cfg, cfg.model.max_iterations, unroll_steps=cfg.model.unroll_steps)
    g = loop.g
    mixture = cfg.data.mixture_kwargs
    from ganlab.data.toy2d import ring_mixture

    ring = ring_mixture(**mixture)
    with torch.no_grad():
        z = torch.randn(2500, cfg.model.latent_dim, generator=torch.Generator().manual_seed(1234))
        result = mode_coverage(g(z), ring.centers, ring.std, 3.0)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps({"mode_coverage": result.as_dict()}) + "\n")
    torch.save({"generator": g.state_dict(), "discriminator": loop.d.state_dict()}, run_dir / "last.ckpt")


def timed_process(command: list[str], cwd: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "GANLAB_OUTPUT_DIR": str(cwd / "outputs")}
    env["PYTHONPATH"] = str(ROOT)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{command} failed:\n{proc.stderr[-2000:]}")
    return elapsed


def whole_run(repeats: int) -> dict:
    train = [str(Path(sys.executable).parent / "ganlab-train"), *RING]
    pairs = []
    for repeat in range(repeats):
        timed = {}
        for which in ("ganlab", "plain") if repeat % 2 == 0 else ("plain", "ganlab"):
            with tempfile.TemporaryDirectory() as tmp:
                if which == "ganlab":
                    timed[which] = timed_process(train, Path(tmp))
                    (metrics,) = Path(tmp).glob("outputs/**/metrics.json")
                else:
                    plain = [sys.executable, "-m", "experiments.bench.fastpath", "--plain-whole-run", f"{tmp}/plain"]
                    timed[which] = timed_process(plain, Path(tmp))
                    metrics = Path(tmp) / "plain" / "metrics.json"
                timed[f"{which}_modes"] = json.loads(metrics.read_text())["mode_coverage"]
        pairs.append(timed)
        print(json.dumps(pairs[-1]), flush=True)
    ratios = [p["ganlab"] / p["plain"] for p in pairs]
    result = {
        "ganlab_s": [round(p["ganlab"], 2) for p in pairs],
        "baseline_s": [round(p["plain"], 2) for p in pairs],
        "ratios": [round(r, 4) for r in ratios],
        "ratio_median": round(statistics.median(ratios), 4),
        "target": TARGETS["whole_run"],
        "final_modes": [(p["ganlab_modes"]["modes"], p["plain_modes"]["modes"]) for p in pairs],
    }
    print(
        f"whole_run: ganlab-train {statistics.median(result['ganlab_s']):.1f} s, plain script "
        f"{statistics.median(result['baseline_s']):.1f} s; ratio {result['ratio_median']:.3f} (pairs "
        f"{', '.join(f'{r:.3f}' for r in ratios)}; target ≤ {TARGETS['whole_run']})",
        flush=True,
    )
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="ganlab/baseline pairs per per-iteration target")
    parser.add_argument("--iterations", type=int, default=200, help="timed iterations per run (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--dcgan-iterations", type=int, default=40)
    parser.add_argument("--whole-repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--data-root", default=os.environ.get("GANLAB_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--plain-whole-run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain_whole_run:
        plain_whole_run(args.plain_whole_run)
        return
    torch.set_num_threads(1)
    results = {"threads": 1, "torch": torch.__version__, "iterations": args.iterations, "warmup": args.warmup}
    k5 = [*RING, "model.unroll_steps=5"]
    k0 = [*RING, "model.unroll_steps=0"]
    cases = {
        "ring_k0": (k0, k0, {}),
        "unrolled_k5": (k5, k0, {"extra_d_updates": 5}),
        "second_order_k5": ([*k5, "model.unroll_mode=second_order"], k5, {"unroll_steps": 5, "second_order": True}),
    }
    for name in args.only:
        if name in cases:
            results[name] = pair_ratio(name, *cases[name], args)
    if "dcgan" in args.only:
        dcgan = ["experiment=mnist_dcgan", f"paths.data_root={args.data_root}", "data.download=false"]
        dcgan_args = argparse.Namespace(**{**vars(args), "iterations": args.dcgan_iterations, "warmup": 5})
        results["dcgan"] = pair_ratio("dcgan", dcgan, dcgan, {}, dcgan_args)
    if "whole_run" in args.only:
        results["whole_run"] = whole_run(args.whole_repeats)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fastpath.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT / 'fastpath.json'}")


if __name__ == "__main__":
    main()
