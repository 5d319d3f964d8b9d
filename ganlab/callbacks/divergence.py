"""The divergence guard: a non-finite gradient or weight never reaches a checkpoint.

- Every optimizer step's gradients, in ``on_before_optimizer_step`` (after backward and clipping, before the step):
  a NaN / inf gradient is caught before it can touch the weights. One fused norm per check
  (``torch._foreach_norm``).
- Every network's weights and floating buffers (BatchNorm statistics), in ``on_save_checkpoint``: whatever writes a
  checkpoint (``last.ckpt``, the best one, a signal's) gets one check of what it is about to write, so no checkpoint
  holds a non-finite value. Weights only become non-finite through a step (caught above) or an overflow, which the
  next step's loss and gradients show; checking them on every iteration cost about 1 % of a ring iteration.
- The logged losses at each logging iteration.

Policies: ``stop`` (default) raises :class:`ganlab.common.errors.Diverged` naming the iteration, the quantity and the
last finite checkpoint; ``metrics.json`` records it and ``ganlab-train`` exits with code 3. ``skip`` drops the step
whose gradients are not finite (its gradients are cleared, so the optimizer leaves those weights and their moments as
they were) and counts it; non-finite weights or buffers still stop. ``warn`` prints one line and trains on.

A critic whose outputs grow beyond ``output_warning`` (WGAN without a working constraint) gets one warning line.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytorch_lightning as pl
import torch

from ganlab.common.errors import Diverged
from ganlab.common.runtime import say

POLICIES = ("stop", "skip", "warn")
OUTPUT_KEYS = ("train/d_real", "train/d_fake")


@torch.no_grad()
def all_finite(tensors: list[torch.Tensor]) -> bool:
    """Whether every element of every tensor is finite: one fused norm over the list (``torch.stack`` promotes
    mixed dtypes), no autograd record."""
    if not tensors:
        return True
    return bool(torch.stack(torch._foreach_norm(tensors)).isfinite().all())


class DivergenceGuard(pl.Callback):
    def __init__(self, policy: str = "stop", output_warning: float | None = 1.0e4, run_dir: str | None = None):
        if policy not in POLICIES:
            raise ValueError(f"policy={policy!r} is not a divergence policy; accepted: {', '.join(POLICIES)}")
        self.policy = policy
        self.output_warning = output_warning
        self.run_dir = Path(run_dir) if run_dir else None
        self.skipped = 0
        self._warned: set[str] = set()
        self._owners: dict[int, str] = {}

    # ------------------------------------------------------------------ naming
    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        """Which network each optimizer trains (for the messages)."""
        children = dict(pl_module.named_children())
        for optimizer in trainer.optimizers:
            first = optimizer.param_groups[0]["params"][0]
            owner = next((n for n, c in children.items() if any(p is first for p in c.parameters())), "model")
            self._owners[id(optimizer)] = owner

    # ------------------------------------------------------------------ checks
    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module, optimizer) -> None:
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if all_finite([p.grad for p in params]):
            return
        owner = self._owners.get(id(getattr(optimizer, "optimizer", optimizer)), "model")
        quantity = f"non-finite gradient of the {owner}"
        if self.policy == "skip":
            for p in params:
                p.grad = None  # the optimizer leaves these weights (and their moments) as they are
            self.skipped += 1
            text = f"{quantity}: step skipped ({self.skipped} so far)"
            self._say(trainer, text, None, self._iteration(trainer, pl_module) + 1)
            return
        self._diverged(trainer, pl_module, quantity, self._iteration(trainer, pl_module) + 1)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module, checkpoint: dict) -> None:
        """Before any checkpoint is written: every weight and floating buffer is finite (one fused check; then which
        network, for the message). Raising here writes nothing. Every rank saves, so under DDP the verdict is reduced
        over the ranks (BatchNorm statistics differ per rank): all ranks stop together."""
        if trainer.strategy.reduce_boolean_decision(all_finite(self._state(pl_module)), all=True):
            return
        bad = next((name for name, child in pl_module.named_children() if not all_finite(self._state(child))), None)
        where = f"the {bad}" if bad else "the networks of another rank"
        iteration = self._iteration(trainer, pl_module)
        self._diverged(trainer, pl_module, f"non-finite weights or buffers in {where}", iteration, always_stop=True)

    @staticmethod
    def _state(module: torch.nn.Module) -> list[torch.Tensor]:
        return [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        iteration = self._iteration(trainer, pl_module)  # the one that just ended (1-based)
        logged = getattr(pl_module, "last_logged", None)
        if not logged or logged[0] != iteration:
            return
        values = logged[1]
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            self._diverged(trainer, pl_module, f"non-finite {bad[0]} ({values[bad[0]]})", iteration)
        if self.output_warning:
            big = {k: values[k] for k in OUTPUT_KEYS if k in values and abs(values[k]) > self.output_warning}
            if big:
                key, value = next(iter(big.items()))
                self._say(
                    trainer,
                    f"D's output {key} = {value:.3g} exceeds {self.output_warning:g}: the critic is unbounded "
                    "(a Lipschitz constraint or penalty not working?)",
                    "output",
                    iteration,
                )

    # ------------------------------------------------------------------ outcomes
    @staticmethod
    def _iteration(trainer, pl_module) -> int:
        return int(getattr(pl_module, "iteration", trainer.global_step))

    def _diverged(self, trainer, pl_module, quantity: str, iteration: int, always_stop: bool = False) -> None:
        """``iteration``: 1-based. ``always_stop``: what skipping a step cannot undo (``skip`` stops too)."""
        if self.policy == "warn" or (self.policy == "skip" and not always_stop):
            self._say(trainer, quantity, quantity, iteration)
            return
        checkpoint, saved = self._last_checkpoint(trainer)
        kept = f"the last finite checkpoint is {checkpoint} (iteration {saved})" if checkpoint else "no checkpoint yet"
        message = f"diverged at iteration {iteration}: {quantity}; {kept}"
        if trainer.is_global_zero and self.run_dir is not None:
            from ganlab.callbacks.metrics_json import write_metrics_json

            record = {"iteration": iteration, "quantity": quantity, "checkpoint": checkpoint, "at": saved}
            write_metrics_json(self.run_dir / "metrics.json", {"diverged": record})
        raise Diverged(message)

    @staticmethod
    def _last_checkpoint(trainer) -> tuple[str | None, int | None]:
        from ganlab.callbacks.run_checkpoint import RunCheckpoint

        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, RunCheckpoint) and callback.path.is_file():
                return str(callback.path), callback.saved_iteration
        return None, None

    def _say(self, trainer, text: str, key: str | None, iteration: int) -> None:
        """One warning line on stderr (once per ``key``; every time for ``key=None``)."""
        if key is not None and key in self._warned:
            return
        if key is not None:
            self._warned.add(key)
        if trainer.is_global_zero:
            say(f"[ganlab] warning: iteration {iteration}: {text}", error=True)

    def state_dict(self) -> dict:
        return {"skipped": self.skipped}

    def load_state_dict(self, state_dict: dict) -> None:
        self.skipped = int(state_dict.get("skipped", 0))
