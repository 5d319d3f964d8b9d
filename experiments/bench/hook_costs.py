"""What Lightning's per-step machinery costs on the ring at k = 0, piece by piece (issue #20, item 3).

On the run ``ganlab-train experiment=ring_unrolled model.unroll_steps=0`` builds (its callbacks and CSV logger),
after ``--warmup`` iterations, for ``--count`` iterations each piece's **uses per iteration** are counted, and each
piece's **µs per use** is timed with ``timeit`` (best of ``--repeats``) in the same process. Their product is set
against a plain ring iteration (``experiments/bench/plain.py``) timed in the same process:

- ``profile``: Lightning's ``trainer.profiler.profile(name)`` around each hook call — the default
  ``PassThroughProfiler`` (a generator-based context manager) against ganlab's ``NullProfiler``;
- ``hook_name``: Lightning setting ``module._current_fx_name`` around each hook — through ``nn.Module.__setattr__``
  against ganlab's plain set;
- ``callback_hook``: Lightning's dispatch of one hook to one callback whose hook does nothing (``getattr``,
  the callback's ``state_key``, the profiler context, the call), the callbacks' own work excluded, with ganlab's
  profiler;
- ``guard``: the divergence guard's gradient check (``on_before_optimizer_step``), per optimizer step.

    python -m experiments.bench.hook_costs [--count 100] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import timeit
from collections import Counter
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.profilers import PassThroughProfiler
from pytorch_lightning.trainer import call

from experiments.bench.plain import RING, PlainLoop, compose
from ganlab.callbacks.divergence import DivergenceGuard
from ganlab.composition.profiler import NullProfiler

RING_K0 = [*RING, "model.unroll_steps=0"]


def best_us(fn, number: int = 2000, repeats: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeats)) / number * 1e6


class CountingProfiler(NullProfiler):
    """Counts ``profile`` uses by kind (``[Callback]…``, ``[LightningModule]…``, …)."""

    def __init__(self):
        super().__init__()
        self.uses: Counter[str] = Counter()

    def profile(self, action_name: str):
        self.uses[action_name.split("]")[0] + "]"] += 1
        return super().profile(action_name)


class Probe(pl.Callback):
    """Counts over ``count`` iterations after ``warmup``, then times each piece once."""

    def __init__(self, warmup: int, count: int, repeats: int):
        self.warmup, self.count, self.repeats = warmup, count, repeats
        self.profiler = CountingProfiler()
        self.fx_sets = 0
        self.counted_class: type | None = None
        self.result: dict | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        seen = pl_module.iteration
        if seen == self.warmup:
            trainer.profiler = self.profiler
            self._count_hook_names(pl_module)
        elif seen == self.warmup + self.count:
            self.restore()
            trainer.profiler = NullProfiler()
            self.result = self._time(trainer, pl_module)

    def restore(self) -> None:
        """The module class's inherited ``__setattr__`` again (also after a failed run)."""
        if self.counted_class is not None:
            del self.counted_class.__setattr__
            self.counted_class = None

    def _count_hook_names(self, module) -> None:
        cls = self.counted_class = type(module)
        assert "__setattr__" not in cls.__dict__, "the probe wraps an inherited __setattr__ only"
        original = cls.__setattr__

        def counting(obj, name, value):
            if name == "_current_fx_name":
                self.fx_sets += 1
            original(obj, name, value)

        cls.__setattr__ = counting

    def _time(self, trainer, module) -> dict:
        callbacks = [c for c in trainer.callbacks if c is not self]
        guard = next(c for c in callbacks if isinstance(c, DivergenceGuard))
        optimizers = trainer.optimizers
        loss = torch.zeros(())

        def dispatch_us(listed: list) -> float:
            trainer.callbacks[:] = listed
            return best_us(lambda: call._call_callback_hooks(trainer, "on_before_backward", loss), 500, self.repeats)

        every = trainer.callbacks[:]
        try:
            per_callback = (dispatch_us(callbacks) - dispatch_us([])) / len(callbacks)
        finally:
            trainer.callbacks[:] = every

        def profile_us(profiler) -> float:
            def use():
                with profiler.profile("[Callback]x.on_before_backward"):
                    pass

            return best_us(use, repeats=self.repeats)

        def set_us(setter) -> float:
            return best_us(lambda: setter(module, "_current_fx_name", "training_step"), repeats=self.repeats)

        def guard_us(optimizer) -> float:
            return best_us(lambda: guard.on_before_optimizer_step(trainer, module, optimizer), 500, self.repeats)

        return {
            "per_iteration_uses": {
                "profile": sum(self.profiler.uses.values()) / self.count,
                "hook_name": self.fx_sets / self.count,
                "callback_hook": self.profiler.uses["[Callback]"] / self.count,
                "guard": float(len(optimizers)),
            },
            "us_per_use": {
                "profile": {
                    "lightning_default": profile_us(PassThroughProfiler()),
                    "ganlab": profile_us(NullProfiler()),
                },
                "hook_name": {"nn.Module.__setattr__": set_us(torch.nn.Module.__setattr__), "ganlab": set_us(setattr)},
                "callback_hook": per_callback,
                "guard": statistics.fmean(guard_us(o) for o in optimizers),
            },
            "callbacks": [type(c).__name__ for c in callbacks],
            "gradients_checked": sum(
                p.grad is not None for o in optimizers for group in o.param_groups for p in group["params"]
            ),
        }


def plain_iteration_ms(tmp: Path, iterations: int) -> float:
    loop = PlainLoop(compose([*RING_K0, "model.max_iterations=10"], tmp))
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        loop.step()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[iterations // 10 :])


def hook_costs(count: int = 100, repeats: int = 7, warmup: int = 30, plain_iterations: int = 200) -> dict:
    from ganlab.composition.build import build

    with tempfile.TemporaryDirectory() as tmp:
        probe = Probe(warmup, count, repeats)
        cfg = compose([*RING_K0, f"model.max_iterations={warmup + count + 2}"], Path(tmp) / "run")
        datamodule, module, trainer = build(cfg)
        trainer.callbacks.append(probe)
        try:
            trainer.fit(module, datamodule=datamodule)
        finally:
            probe.restore()
        plain_ms = plain_iteration_ms(Path(tmp) / "plain", plain_iterations)
    result = probe.result
    uses, us = result["per_iteration_uses"], result["us_per_use"]
    lines = [
        f"hook_costs: the plain ring iteration {plain_ms:.2f} ms; callbacks {', '.join(result['callbacks'])}; "
        f"the guard checks {result['gradients_checked']} gradients"
    ]
    for piece, n in uses.items():
        cost = us[piece]
        variants = cost if isinstance(cost, dict) else {"": cost}
        per_iteration = {name: n * value for name, value in variants.items()}
        text = "; ".join(
            f"{name + ' ' if name else ''}{variants[name]:.2f} µs → {value:.0f} µs/iteration "
            f"({100 * value / (1e3 * plain_ms):.2f} %)"
            for name, value in per_iteration.items()
        )
        lines.append(f"  {piece}: {n:.1f} uses per iteration; {text}")
    print("\n".join(lines), flush=True)
    return {**result, "plain_ms": round(plain_ms, 3), "count": count}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="iterations over which uses are counted")
    parser.add_argument("--repeats", type=int, default=7, help="timeit repeats (the best is kept)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    hook_costs(args.count, args.repeats)


if __name__ == "__main__":
    main()
