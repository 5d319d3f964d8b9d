"""``checkpoints/last.ckpt``: the one checkpoint a run resumes from, written so that any crash resumes exactly.

When it is written (always at an iteration boundary, so resuming from it is bit-exact):
- every ``every_n_iterations`` iterations and/or every ``every_n_minutes`` minutes (a ``kill -9``, an OOM kill or a
  node failure loses at most that much work), at every epoch end and at the end of training;
- on SIGTERM (preemption, ``scancel``, ``scontrol requeue``), SIGINT (Ctrl-C) and SIGUSR1 / SIGUSR2 (Slurm's "time
  is nearly up" warning, ``--signal=USR1@90``; submitit uses USR2): the handler only records the signal; the
  current iteration finishes, every rank agrees, ``last.ckpt`` is written, and the process exits with 128 + signum
  and the resume line. An iteration still running ``grace_seconds`` after the signal is abandoned (the process
  exits with the same code, naming the checkpoint it resumes from): a signal is honoured within seconds.

How: the old file becomes ``last.prev.ckpt`` too (a hard link, so a ``last.ckpt`` exists at every instant), then the
new one is written beside it in the run folder, never ``$TMPDIR`` (``composition/checkpoint_io.py``), fsynced and
renamed over ``last.ckpt``: a crash while writing leaves both generations intact, and resuming falls back to
``last.prev.ckpt`` when ``last.ckpt`` is unreadable. A full disk stops the run with one line naming the path and the
free space (exit 4), the previous checkpoint intact. Temporary files a killed writer left are removed at start.

Requeueing has exactly one owner (Lightning's own SLURM auto-requeue is switched off by
``ganlab.composition.build.build``):
- jobs started by submitit (``hydra/launcher=slurm``): submitit's USR2 handler, called after the checkpoint is
  written, requeues the job; the requeued job runs in the same job directory and resumes from ``last.ckpt``;
- a job started by a plain ``sbatch`` script: ganlab runs ``scontrol requeue $SLURM_JOB_ID`` on USR1 / USR2;
- SIGTERM / SIGINT: no requeue by ganlab (Slurm itself requeues a preempted ``--requeue`` job or one it was told
  to requeue with ``scontrol requeue``).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint

from ganlab.callbacks.signal_watchdog import SignalWatchdog, hang_line
from ganlab.common.durable import stale_temporaries, write_durably
from ganlab.common.run_state import read_json
from ganlab.common.runtime import say, slurm_job_id

log = logging.getLogger(__name__)

DEFAULT_SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2")
WARNING_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)
LAST, PREVIOUS = "last.ckpt", "last.prev.ckpt"


class Preempted(SystemExit):
    """Raised after the signal's checkpoint is written (or the iteration abandoned); exits with 128 + signum."""


def requeue_owner(signum: int, previous) -> str | None:
    """Who requeues after a checkpoint for ``signum``: "submitit", "ganlab" (plain sbatch job) or None."""
    if signum not in WARNING_SIGNALS:
        return None
    if callable(previous) and "submitit" in getattr(previous, "__module__", "") + repr(previous):
        return "submitit"
    return "ganlab" if slurm_job_id() else None


def keep_as_previous(last: Path, previous: Path) -> None:
    """``previous`` becomes a second name of the current ``last`` (a hard link, renamed into place; a durable copy on
    a filesystem without hard links), so that ``last`` can be replaced while a previous generation stays."""
    if not last.is_file():
        return
    staged = previous.with_name(previous.name + ".tmp")
    staged.unlink(missing_ok=True)
    try:
        os.link(last, staged)
    except OSError:  # a filesystem without hard links
        with last.open("rb") as source:
            write_durably(previous, lambda f: shutil.copyfileobj(source, f), what="the previous checkpoint")
        return
    os.replace(staged, previous)


class RunCheckpoint(Checkpoint):
    """A ``Checkpoint`` subclass: Lightning runs it after every other callback and after the module's epoch-end
    hook (schedulers stepped), so the state it saves is the state the next iteration starts from."""

    def __init__(
        self,
        dirpath: str,
        every_n_iterations: int | None = None,
        every_n_minutes: float | None = 5.0,
        keep_previous: bool = True,
        signals=DEFAULT_SIGNALS,
        grace_seconds: float = 10.0,
        hang_seconds: float = 5.0,
    ):
        for name, value in (("every_n_iterations", every_n_iterations), ("every_n_minutes", every_n_minutes)):
            if value is not None and not value > 0:
                raise ValueError(f"{name}={value} is not positive; accepted: a number > 0, or null (off)")
        self.dirpath = Path(dirpath)
        self.path = self.dirpath / LAST
        self.previous = self.dirpath / PREVIOUS if keep_previous else None
        self.every_n_iterations = every_n_iterations
        self.every_n_seconds = every_n_minutes * 60 if every_n_minutes is not None else None
        self.signals = [signal.Signals[name] if isinstance(name, str) else signal.Signals(name) for name in signals]
        self.grace_seconds = grace_seconds
        self.hang_seconds = hang_seconds
        self._watchdog: SignalWatchdog | None = None
        self.received: int | None = None
        self._previous_handlers: dict[int, object] = {}
        self._last_save = time.monotonic()
        self.saved_iteration: int | None = None
        self._module = None
        self._trainer = None
        self._world_size, self._rank = 1, 0
        self._exit_after_epoch = False  # a signal at an epoch's last batch: exit after the epoch's evaluation

    # ------------------------------------------------------------------ writing
    def save(self, trainer: pl.Trainer, pl_module, force: bool = False) -> None:
        """Write ``last.ckpt`` now (every rank calls this: the noise-RNG gather is a collective)."""
        iteration = getattr(pl_module, "iteration", trainer.global_step)
        if self.saved_iteration == iteration and self.path.is_file() and not force:
            return  # e.g. an epoch end right after an interval checkpoint
        self.dirpath.mkdir(parents=True, exist_ok=True)
        if trainer.is_global_zero and self.previous is not None:
            keep_as_previous(self.path, self.previous)
        trainer.save_checkpoint(self.path)  # RunFolderCheckpointIO: beside it, fsynced, renamed over it
        trainer.strategy.barrier("ganlab_last_checkpoint")
        self.saved_iteration, self._last_save = iteration, time.monotonic()

    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        # After Lightning registered its own handlers (they are restored by Lightning's teardown; ours by ours).
        self._module, self._last_save = pl_module, time.monotonic()
        self.saved_iteration = getattr(pl_module, "iteration", None)  # the checkpoint it resumed from (or none)
        if trainer.is_global_zero:  # what a killed writer left (this run writes none before its first save)
            for stale in stale_temporaries(self.dirpath):
                stale.unlink(missing_ok=True)
                say(f"[ganlab] removed {stale}: a temporary file left by an interrupted write")
        for sig in self.signals:
            self._previous_handlers[sig] = signal.getsignal(sig)
            signal.signal(sig, self._record)
        if self.signals and self.hang_seconds is not None:  # a signal while blocked in C++ (a collective)
            self._world_size, self._rank = trainer.world_size, trainer.global_rank
            deadline = (self.grace_seconds or 0.0) + self.hang_seconds
            self._watchdog = SignalWatchdog(self.signals, deadline, self._describe_hang, rank=self._rank)
            self._watchdog.start()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if self.received is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)  # the iteration ended: no abandoning
            if self._watchdog is not None:
                self._watchdog.progress()
        iteration = getattr(pl_module, "iteration", trainer.global_step)
        if self._watchdog is not None and trainer.world_size > 1:
            self._watchdog.beat(iteration)
        # the epoch's last batch: the interval / time / end checkpoint waits for on_train_epoch_end, after the
        # epoch's evaluation (a resume from a checkpoint written here would skip that evaluation)
        last_batch = trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
        due = self.every_n_seconds is not None and time.monotonic() - self._last_save >= self.every_n_seconds
        due = due and not last_batch
        if trainer.strategy.reduce_boolean_decision(self.received is not None or due, all=False):
            # every rank is here (the decision is agreed): a time-based checkpoint or a signal on some rank
            signalled = trainer.strategy.reduce_boolean_decision(self.received is not None, all=False)
            self.save(trainer, pl_module)
            if signalled and last_batch:
                # the epoch's evaluation runs next: nothing of training is lost if it is cut short, and when it
                # ends, the checkpoint is written again (with the epoch complete) before the exit
                self._exit_after_epoch = True
            elif signalled:
                self._exit_on_signal(trainer, pl_module)
        elif last_batch:
            return
        elif self.every_n_iterations and iteration % self.every_n_iterations == 0:
            self.save(trainer, pl_module)
        elif trainer.should_stop:
            # the run ends at this iteration (max_iterations): write the end checkpoint here, at an iteration
            # boundary like any other, not after the loop has wound up (Lightning then marks the epoch finished,
            # and a run extended from it would skip the rest of the epoch's batches)
            self.save(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        self.save(trainer, pl_module, force=self._exit_after_epoch)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module) -> None:
        if self._exit_after_epoch:  # the signalled epoch's evaluation is logged, its checkpoint written
            self._exit_on_signal(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module) -> None:
        self.save(trainer, pl_module)
        if self._exit_after_epoch:  # signalled at the last iteration: stop before the final evaluation
            self._exit_on_signal(trainer, pl_module)
        # the final evaluation, plots and summaries follow (minutes for image GANs): a signal now stops them at once,
        # with a line and a record; training is complete, and re-running the command does only what is missing
        self._trainer = trainer
        for sig in self._previous_handlers:
            if signal.getsignal(sig) == self._record:
                signal.signal(sig, self._stop_final_phase)
        # Lightning's teardown, which runs before on_fit_end, re-installs the handlers it found when fit started:
        # make ours the one it re-installs (ours restores the user's own in teardown, after on_fit_end)
        lightning_saved = getattr(trainer._signal_connector, "_original_handlers", None)
        if isinstance(lightning_saved, dict):
            for sig in self._previous_handlers:
                if sig in lightning_saved:  # what was there before Lightning's: what our teardown restores
                    self._previous_handlers[sig] = lightning_saved[sig]
                lightning_saved[sig] = self._stop_final_phase

    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        # after every other callback's on_fit_end: the run is complete, an earlier interruption's record goes
        metrics = self.dirpath.parent / "metrics.json"
        if trainer.is_global_zero and "preempted" in (read_json(metrics) or {}):
            from ganlab.callbacks.metrics_json import write_metrics_json

            write_metrics_json(metrics, {}, drop=("preempted",))

    def on_exception(self, trainer: pl.Trainer, pl_module, exception: BaseException) -> None:
        if self._watchdog is not None:  # the process is on its way out, in Python: nothing blocks it
            self._watchdog.stop()

    def teardown(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, previous in self._previous_handlers.items():
            if signal.getsignal(sig) in (self._record, self._stop_final_phase):
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous_handlers, self._module, self._trainer = {}, None, None

    # ------------------------------------------------------------------ signals
    def _describe_hang(self, signum: int) -> str:
        """The watchdog's line (from its thread): this rank is blocked outside Python after the signal."""
        resumes = f"ckpt_path={self.path} (iteration {self.saved_iteration})" if self.path.is_file() else None
        return hang_line(signum, self._rank, self._world_size, self._watchdog.deadline_s, resumes)

    def _record(self, signum, frame) -> None:
        if self.received is not None:
            if signum == signal.SIGINT:  # a second Ctrl-C: stop now, like Python would (last.ckpt is unchanged)
                raise KeyboardInterrupt
            return
        self.received = signum
        if self.grace_seconds and self.grace_seconds > 0:
            signal.signal(signal.SIGALRM, self._abandon)
            signal.setitimer(signal.ITIMER_REAL, self.grace_seconds)

    def _abandon(self, signum, frame) -> None:
        """The iteration outlived the grace period after a signal: leave it; ``last.ckpt`` is the previous one."""
        received = signal.Signals(self.received or signal.SIGTERM)
        iteration = getattr(self._module, "iteration", "?")
        resumes = f"ckpt_path={self.path}" if self.path.is_file() else "a fresh start (no checkpoint written yet)"
        say(
            f"[ganlab] {received.name}: iteration {iteration} still running after {self.grace_seconds:g} s, "
            f"abandoned; resume with {resumes} (iteration {self.saved_iteration})"
        )
        raise Preempted(128 + int(received))

    def _stop_final_phase(self, signum, frame) -> None:
        """A signal after the end checkpoint, during the final evaluation: stop now (nothing of training is lost)."""
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum
        self._exit_on_signal(self._trainer, self._module, phase="final evaluation")

    def _exit_on_signal(self, trainer: pl.Trainer, pl_module, phase: str = "training") -> None:
        signum = int(self.received if self.received is not None else signal.SIGTERM)  # a rank told by another
        iteration = getattr(pl_module, "iteration", trainer.global_step)
        name = signal.Signals(signum).name
        owner = requeue_owner(signum, self._previous_handlers.get(signum))
        if trainer.is_global_zero:
            from ganlab.callbacks.metrics_json import write_metrics_json

            record = {"signal": name, "iteration": iteration, "phase": phase, "checkpoint": str(self.path)}
            write_metrics_json(self.dirpath.parent / "metrics.json", {"preempted": {**record, "requeue": owner}})
            then = f"requeue by {owner}" if owner else "run the same command to resume"
            if phase == "training":
                say(f"[ganlab] {name} at iteration {iteration}: wrote {self.path}; {then} (ckpt_path={self.path})")
            else:
                say(
                    f"[ganlab] {name} during the {phase}: training is complete ({self.path}, iteration "
                    f"{iteration}); {then}: it does only the {phase}"
                )
        if owner == "submitit":
            self._previous_handlers[signum](signum, None)  # requeues and exits
        elif owner == "ganlab" and trainer.is_global_zero:
            job = slurm_job_id()
            result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
            if result.returncode != 0:
                log.warning("scontrol requeue %s failed: %s", job, result.stderr.strip())
        raise Preempted(128 + signum)

    # ------------------------------------------------------------------ Lightning's Checkpoint contract
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        pass
