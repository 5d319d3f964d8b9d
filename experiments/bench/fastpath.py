"""Issue #20's targets, each a ratio against a baseline measured in the same run (one thread):

- ``lightning_floor`` and ``ganlab_bare`` (no targets): where ring_k0's gap comes from — the plain iteration run
  through Lightning's manual optimization in a bare Trainer, and ganlab's module without its callbacks and logger;
  ``ring_epoch_end`` (no target): ring_k0 with 50 iterations an epoch, for ``epoch_end_ms``, the extra time of an
  iteration that crosses an epoch end (mode coverage, its figure, the checkpoints); ``deterministic_fill`` (no
  target): the plain ring iteration with deterministic algorithms off, on with torch's NaN fill of new tensors, and
  on without it (ganlab's setting); ``hook_costs`` (no target): Lightning's per-step machinery piece by piece, uses
  per iteration × µs per use against the plain iteration (``experiments/bench/hook_costs.py``); ``surrogate_cost``
  (no target, issue #29): the second-order k = 5 iteration with Metz et al.'s surrogate ÷ its old time (G's loss on
  fakes only), ganlab against ganlab in alternating runs;
- ``ring_k0``: ganlab's iteration on ``ring_unrolled`` with k = 0 (the preset's callbacks and CSV logger, as
  ``ganlab-train`` builds it) ÷ the plain loop (``experiments/bench/plain.py``) — target ≤ 1.10;
- ``dcgan``: the same on ``mnist_dcgan`` (batch 100, MNIST) — target ≤ 1.03;
- ``unrolled_k5``: first-order k = 5 ÷ the lower bound (the plain k = 0 iteration plus 5 real D updates) — ≤ 1.02;
- ``second_order_k5``: second-order k = 5 ÷ the plain foreach implementation of the same maths — ≤ 1.05;
- ``whole_run``: the wall time of ``ganlab-train experiment=ring_unrolled`` (3 000 iterations, its epoch-end
  metrics, plots, checkpoints and logs) ÷ a plain script doing the same iterations and the same final metrics
  (mode coverage of 2 500 samples, metrics.json, a final checkpoint), both as fresh processes — ≤ 1.15.

Per-iteration figures: blocks of baseline iterations run inside the ganlab run (``Interleaved``), so both are timed
within seconds of each other; means over the iterations after ``--warmup``. ganlab's exclude the iterations that
cross an epoch end (their extra time is reported apart as ``epoch_end_ms``, and counted in ``whole_run``). Whole
runs alternate (ganlab first in even pairs).

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

from experiments.bench.hook_costs import hook_costs
from experiments.bench.plain import RING, PlainLoop, compose

OUT = Path(__file__).parent / "out"
ROOT = Path(__file__).resolve().parents[2]
#: Parts without a target: Lightning's manual optimization alone, ganlab's module without its callbacks and logger and
#: the per-step machinery piece by piece (where ring_k0's gap comes from), the cost of the ring's epoch ends and of
#: torch's NaN fill.
PARTS = ("lightning_floor", "ganlab_bare", "ring_epoch_end", "deterministic_fill", "hook_costs", "surrogate_cost")
TARGETS = {"ring_k0": 1.10, "dcgan": 1.03, "unrolled_k5": 1.02, "second_order_k5": 1.05, "whole_run": 1.15}


class Interleaved(pl.Callback):
    """Runs ``block`` baseline iterations before every ``block``-th ganlab iteration, so the two are timed minutes
    apart at most and the machine's drift (±30 % between minutes on this VM) hits both alike. ganlab's iteration is
    the time from one batch start to the next, less the baseline block inside it; iterations that cross an epoch
    end are kept apart."""

    def __init__(self, baseline: PlainLoop, block: int):
        self.baseline, self.block = baseline, block
        self.ganlab: list[float] = []
        self.crossing: list[float] = []
        self.plain: list[float] = []
        self._mark: float | None = None
        self._count = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        now = time.perf_counter()
        if self._mark is not None:
            (self.crossing if batch_idx == 0 else self.ganlab).append(now - self._mark)
        self._mark = now
        if self._count % self.block == 0:
            for _ in range(self.block):
                start = time.perf_counter()
                self.baseline.step()
                self._mark = time.perf_counter()
                self.plain.append(self._mark - start)
        self._count += 1


class MinimalLightning(pl.LightningModule):
    """The plain loop's iteration through Lightning's manual optimization and nothing else (``self.optimizers()``,
    ``manual_backward``, ``LightningOptimizer.step``, a bare Trainer): the floor of any LightningModule."""

    def __init__(self, loop: PlainLoop, iterations: int):
        super().__init__()
        self.loop, self.iterations, self.count = loop, iterations, 0
        self.g, self.d = loop.g, loop.d
        self.automatic_optimization = False

    def configure_optimizers(self):
        return [self.loop.opt_g, self.loop.opt_d]

    def training_step(self, batch, batch_idx):
        self.loop.step(batch[0], backward=self.manual_backward, optimizers=self.optimizers())
        self.count += 1
        self.trainer.should_stop = self.count >= self.iterations


def interleaved_run(overrides: list[str] | None, plain_overrides: list[str], plain_kwargs: dict, iterations: int,
                    block: int) -> Interleaved:  # fmt: skip
    """ganlab built by ``ganlab-train``'s ``build`` from ``overrides`` (``None``: ``MinimalLightning`` on the plain
    config, bare Trainer), with the plain baseline of ``plain_overrides`` interleaved."""
    from ganlab.composition.build import build

    with tempfile.TemporaryDirectory() as tmp:
        plain_cfg = compose([*plain_overrides, f"model.max_iterations={iterations}"], Path(tmp))
        baseline = PlainLoop(plain_cfg, **plain_kwargs)
        clock = Interleaved(baseline, block)
        if overrides is None:
            loop = PlainLoop(plain_cfg)
            trainer = pl.Trainer(accelerator="cpu", max_epochs=-1, logger=False, enable_checkpointing=False,
                                 enable_progress_bar=False, enable_model_summary=False, callbacks=[clock])  # fmt: skip
            trainer.fit(MinimalLightning(loop, iterations), train_dataloaders=loop.datamodule.train_dataloader())
            return clock
        cfg = compose([*overrides, f"model.max_iterations={iterations}"], Path(tmp) / "run")
        datamodule, module, trainer = build(cfg)
        trainer.callbacks.append(clock)
        trainer.fit(module, datamodule=datamodule)
    return clock


def mean_after(values: list[float], warmup: int) -> float:
    return statistics.fmean(values[warmup:])


def pair_ratio(name: str, ganlab_overrides: list[str], plain_overrides: list[str], plain_kwargs: dict, args) -> dict:
    """One interleaved run per repeat; the median of the per-run ratios of mean iteration times."""
    runs = []
    for _ in range(args.repeats):
        clock = interleaved_run(ganlab_overrides, plain_overrides, plain_kwargs, args.iterations + args.warmup + 1,
                                args.block)  # fmt: skip
        ganlab, plain = mean_after(clock.ganlab, args.warmup), mean_after(clock.plain, args.warmup)
        runs.append({"ganlab": ganlab, "plain": plain, "crossing": [c - ganlab for c in clock.crossing]})
    epoch_ends = [c for r in runs for c in r["crossing"]]
    extra = {"epoch_end_ms": round(1e3 * statistics.median(epoch_ends), 1)} if epoch_ends else {}
    return summarise(name, [r["ganlab"] for r in runs], [r["plain"] for r in runs], "ms per iteration", **extra)


def summarise(name: str, ganlab: list[float], baseline: list[float], unit: str, **extra) -> dict:
    """The per-run values (seconds; reported in ``unit``: "ms per iteration" or "s"), their ratios, the median ratio
    and its verdict against the target, printed in one line and returned."""
    scale = 1e3 if unit.startswith("ms") else 1.0
    ratios = [g / b for g, b in zip(ganlab, baseline, strict=True)]
    median, target = statistics.median(ratios), TARGETS.get(name)
    verdict = "no target" if target is None else f"target ≤ {target}: " + ("met" if median <= target else "NOT met")
    print(
        f"{name}: ganlab {scale * statistics.median(ganlab):.2f}, baseline {scale * statistics.median(baseline):.2f} "
        f"{unit}; ratio {median:.3f} (runs {', '.join(f'{r:.3f}' for r in ratios)}; {verdict})"
        + "".join(f"; {k} {v}" for k, v in extra.items()),
        flush=True,
    )
    return {
        "unit": unit,
        "ganlab": [round(scale * g, 3) for g in ganlab],
        "baseline": [round(scale * b, 3) for b in baseline],
        "ratios": [round(r, 4) for r in ratios],
        "ratio_median": round(median, 4),
        "target": target,
        **extra,
    }


def deterministic_fill(rounds: int, iterations: int = 20) -> dict:
    """The plain ring iteration with deterministic algorithms off, on with torch's NaN fill of new tensors (its
    default) and on without it (ganlab's setting, ``composition/build.py``), in interleaved rounds; ratios to "off"."""
    import torch.utils.deterministic

    with tempfile.TemporaryDirectory() as tmp:
        loop = PlainLoop(compose([*RING, "model.unroll_steps=0"], Path(tmp)))
        for _ in range(iterations):
            loop.step()
        times: dict[str, list[float]] = {"off": [], "fill": [], "no_fill": []}
        try:
            for _ in range(rounds):
                for setting, runs in times.items():
                    torch.use_deterministic_algorithms(setting != "off")
                    torch.utils.deterministic.fill_uninitialized_memory = setting == "fill"
                    start = time.perf_counter()
                    for _ in range(iterations):
                        loop.step()
                    runs.append((time.perf_counter() - start) / iterations)
        finally:
            torch.use_deterministic_algorithms(False)
            torch.utils.deterministic.fill_uninitialized_memory = True
    result = {k: round(1e3 * statistics.median(v), 3) for k, v in times.items()}
    ratios = {k: round(result[k] / result["off"], 3) for k in ("fill", "no_fill")}
    print(f"deterministic_fill: ms per ring iteration {result}; ÷ off {ratios}", flush=True)
    return {"ms_per_iteration": result, "ratio_to_off": ratios, "rounds": rounds}


class _NoBaseline:
    """``Interleaved`` with nothing interleaved: ganlab's iteration times alone."""

    def step(self) -> None:
        pass


def surrogate_cost(repeats: int, iterations: int, warmup: int) -> dict:
    """Second-order k = 5 on the ring: Metz et al.'s surrogate (``unroll_surrogate=game``: G's objective also scores
    the real batch with D_k, one more D_k forward and its backward through the k updates) ÷ G's loss on fakes only
    (``fake_only``: the iteration as it was before issue #29). ganlab against ganlab, built as ``ganlab-train``
    builds them, alternating runs in one process (game first in even repeats); the median of per-pair ratios."""
    from ganlab.composition.build import build

    second_order = [*RING, "model.unroll_steps=5", "model.unroll_mode=second_order"]
    times: dict[str, list[float]] = {"game": [], "fake_only": []}
    for repeat in range(repeats):
        for which in ("game", "fake_only") if repeat % 2 == 0 else ("fake_only", "game"):
            with tempfile.TemporaryDirectory() as tmp:
                overrides = [*second_order, f"model.unroll_surrogate={which}"]
                cfg = compose([*overrides, f"model.max_iterations={iterations + warmup + 1}"], Path(tmp))
                datamodule, module, trainer = build(cfg)
                clock = Interleaved(_NoBaseline(), block=1)
                trainer.callbacks.append(clock)
                trainer.fit(module, datamodule=datamodule)
            times[which].append(mean_after(clock.ganlab, warmup))
    return summarise("surrogate_cost", times["game"], times["fake_only"], "ms per iteration")


# ------------------------------------------------------------------------------------------------ the whole run
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
                    plain = [sys.executable, "-m", "experiments.bench.plain", f"{tmp}/plain"]
                    timed[which] = timed_process(plain, Path(tmp))
                    metrics = Path(tmp) / "plain" / "metrics.json"
                timed[f"{which}_modes"] = json.loads(metrics.read_text())["mode_coverage"]
        pairs.append(timed)
        print(json.dumps(pairs[-1]), flush=True)
    modes = [(p["ganlab_modes"]["modes"], p["plain_modes"]["modes"]) for p in pairs]
    return summarise("whole_run", [p["ganlab"] for p in pairs], [p["plain"] for p in pairs], "s", final_modes=modes)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs per per-iteration target")
    parser.add_argument("--iterations", type=int, default=200, help="timed iterations per run (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--block", type=int, default=10, help="baseline iterations run together (ring)")
    parser.add_argument("--dcgan-iterations", type=int, default=40)
    parser.add_argument("--dcgan-block", type=int, default=2, help="DCGAN's baseline block (a larger one switches "
                        "between the two loops' memory less often)")  # fmt: skip
    parser.add_argument("--whole-repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=[*PARTS, *TARGETS], default=[*PARTS, *TARGETS])
    parser.add_argument("--data-root", default=os.environ.get("GANLAB_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = {"threads": 1, "torch": torch.__version__, "iterations": args.iterations, "warmup": args.warmup}
    k5 = [*RING, "model.unroll_steps=5"]
    k0 = [*RING, "model.unroll_steps=0"]
    bare = ["logger=none", *(f"callbacks.{c}=null" for c in ("mode_coverage", "checkpoint", "divergence",
                                                                 "last_checkpoint", "diagnostics", "ddp_check",
                                                                 "summary"))]  # fmt: skip
    cases = {
        "lightning_floor": (None, k0, {}),
        "ganlab_bare": ([*k0, *bare], k0, {}),
        "ring_epoch_end": ([*k0, "data.iterations_per_epoch=50"], k0, {}),
        "ring_k0": (k0, k0, {}),
        "unrolled_k5": (k5, k0, {"extra_d_updates": 5}),
        "second_order_k5": ([*k5, "model.unroll_mode=second_order"], k5, {"unroll_steps": 5, "second_order": True}),
    }
    for name in args.only:
        if name in cases:
            results[name] = pair_ratio(name, *cases[name], args)
    if "dcgan" in args.only:
        dcgan = ["experiment=mnist_dcgan", f"paths.data_root={args.data_root}", "data.download=false"]
        dcgan_args = argparse.Namespace(**{**vars(args), "iterations": args.dcgan_iterations, "warmup": 4,
                                           "block": args.dcgan_block})  # fmt: skip
        results["dcgan"] = pair_ratio("dcgan", dcgan, dcgan, {}, dcgan_args)
    if "hook_costs" in args.only:
        results["hook_costs"] = hook_costs()
    if "deterministic_fill" in args.only:
        results["deterministic_fill"] = deterministic_fill(rounds=3 * args.repeats)
    if "surrogate_cost" in args.only:
        results["surrogate_cost"] = surrogate_cost(args.repeats, args.iterations, args.warmup)
    if "whole_run" in args.only:
        results["whole_run"] = whole_run(args.whole_repeats)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fastpath.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT / 'fastpath.json'}")


if __name__ == "__main__":
    main()
