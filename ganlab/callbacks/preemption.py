"""A checkpoint before the process goes: SIGTERM (preemption, ``scancel``, ``scontrol requeue``), SIGUSR1 / SIGUSR2
(Slurm's "time is nearly up" warning, ``--signal=USR1@90``; submitit uses USR2).

The handler only records the signal. The current iteration finishes, then every rank agrees, ``last.ckpt`` is
written at that iteration boundary (so resuming from it is bit-exact), and the process exits with 128 + signum.

Requeueing has exactly one owner (Lightning's own SLURM auto-requeue is switched off by ``ganlab.compose.build``):
- jobs started by submitit (``hydra/launcher=slurm``): submitit's USR2 handler, called after the checkpoint is
  written, requeues the job; the requeued job runs in the same job directory and resumes from ``last.ckpt``;
- a job started by a plain ``sbatch`` script: ganlab runs ``scontrol requeue $SLURM_JOB_ID`` on USR1 / USR2;
- SIGTERM: no requeue by ganlab (Slurm itself requeues a preempted ``--requeue`` job or one it was told to
  requeue with ``scontrol requeue``).
"""

from __future__ import annotations

import logging
import signal
import subprocess
from pathlib import Path

import pytorch_lightning as pl

from ganlab.config import slurm_job_id

log = logging.getLogger(__name__)

DEFAULT_SIGNALS = ("SIGTERM", "SIGUSR1", "SIGUSR2")
WARNING_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)


class Preempted(SystemExit):
    """Raised after the preemption checkpoint is written; exits with 128 + signum."""


def requeue_owner(signum: int, previous) -> str | None:
    """Who requeues after a checkpoint for ``signum``: "submitit", "ganlab" (plain sbatch job) or None."""
    if signum not in WARNING_SIGNALS:
        return None
    if callable(previous) and "submitit" in getattr(previous, "__module__", "") + repr(previous):
        return "submitit"
    return "ganlab" if slurm_job_id() else None


class PreemptionCheckpoint(pl.Callback):
    def __init__(self, dirpath: str, filename: str = "last.ckpt", signals=DEFAULT_SIGNALS):
        self.path = Path(dirpath) / filename
        self.signals = [signal.Signals[name] if isinstance(name, str) else signal.Signals(name) for name in signals]
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    # ------------------------------------------------------------------ handlers
    def _record(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # After Lightning registered its own handlers (they are restored by Lightning's teardown; ours by ours).
        for sig in self.signals:
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._record)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._record:
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}

    # ------------------------------------------------------------------ at the iteration boundary
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if not trainer.strategy.reduce_boolean_decision(self.received is not None, all=False):
            return
        signum = int(self.received if self.received is not None else signal.SIGTERM)  # a rank told by another
        trainer.save_checkpoint(self.path)
        iteration = getattr(pl_module, "iteration", trainer.global_step)
        name = signal.Signals(signum).name
        owner = requeue_owner(signum, self._previous.get(signum))
        if trainer.is_global_zero:
            from ganlab.callbacks.run_summary import write_metrics_json

            run_dir = self.path.parent.parent
            write_metrics_json(
                run_dir / "metrics.json",
                {"preempted": {"signal": name, "iteration": iteration, "checkpoint": str(self.path), "requeue": owner}},
            )
            print(
                f"[ganlab] {name} at iteration {iteration}: wrote {self.path}; "
                + (f"requeue by {owner}" if owner else f"resume with ckpt_path={self.path}"),
                flush=True,
            )
        if owner == "submitit":
            self._previous[signum](signum, None)  # requeues and exits
        elif owner == "ganlab" and trainer.is_global_zero:
            job = slurm_job_id()
            result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
            if result.returncode != 0:
                log.warning("scontrol requeue %s failed: %s", job, result.stderr.strip())
        raise Preempted(128 + signum)
