"""Leaf: facts about the running process (Slurm job id). Imports only the standard library."""

from __future__ import annotations

import os


def slurm_job_id() -> str | None:
    """This Slurm job's id (``<array job>_<task>`` for an array task), None outside Slurm."""
    array_job, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array_job}_{task}" if array_job and task else os.environ.get("SLURM_JOB_ID")


def secondary_rank() -> bool:
    """Whether this process is a DDP rank other than 0 (Lightning starts those with the same command line, into
    the same run folder, which rank 0 already holds): such a process claims no folder."""
    return any(os.environ.get(key, "0") not in ("", "0") for key in ("RANK", "LOCAL_RANK", "NODE_RANK"))


#: Run directories this process holds the lock of (path → open file): one lock per directory and process.
_HELD: dict[str, object] = {}
LOCK_NAME = ".ganlab.lock"


class RunDirBusy(RuntimeError):
    """Another live process holds the run directory's lock."""


def hold_run_dir(run_dir) -> None:
    """Lock ``run_dir`` for the rest of this process (an advisory ``flock``: the kernel drops it when the process
    dies, even by ``kill -9``, so a crashed run never leaves a stale lock). Idempotent; RunDirBusy when another
    live process holds it."""
    import fcntl
    from pathlib import Path

    path = Path(run_dir).resolve()
    if str(path) in _HELD or secondary_rank():
        return
    path.mkdir(parents=True, exist_ok=True)
    handle = open(path / LOCK_NAME, "a+")  # noqa: SIM115 (kept open: the lock lives as long as the process)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RunDirBusy(f"{path} is in use by a live run ({holder})") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {os.uname().nodename}")
    handle.flush()
    _HELD[str(path)] = handle


def is_busy(run_dir) -> str | None:
    """Who holds ``run_dir``'s lock (another process), or None; takes nothing."""
    import fcntl
    from pathlib import Path

    path = Path(run_dir).resolve()
    if str(path) in _HELD or not (path / LOCK_NAME).is_file():
        return None
    with open(path / LOCK_NAME) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


#: Warnings a ganlab user cannot act on (they come from inside the libraries, about the libraries).
UNACTIONABLE_WARNINGS = (
    r"'set_vital' is deprecated",  # torchdata's StatefulDataLoader
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # Lightning's pytree helper
    r"The dirpath has changed from",  # ModelCheckpoint on a resume into a new run directory (by design)
    r"Checkpoint directory .* exists and is not empty",  # a resumed run's own checkpoints
    r"The number of training batches \(\d+\) is smaller than the logging interval",  # tiny test runs
)


#: Lightning's info lines that only advertise or state its defaults, and its end-of-fit line in epochs (ganlab counts
#: iterations: its own last line gives the iteration reached).
UNACTIONABLE_LOG_LINES = ("💡 Tip", "`weights_only` was not set", "`Trainer.fit` stopped: `max_epochs=")


class _DropLines:
    def filter(self, record) -> bool:
        return not str(record.getMessage()).startswith(UNACTIONABLE_LOG_LINES)


def silence_unactionable_warnings() -> None:
    """Filter the library warnings listed in ``UNACTIONABLE_WARNINGS`` and Lightning's advertising tip; a
    warning about the user's own settings still shows."""
    import logging
    import warnings

    for pattern in UNACTIONABLE_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("pytorch_lightning.utilities.rank_zero", "pytorch_lightning.trainer.connectors.checkpoint_connector"):
        log = logging.getLogger(name)
        if not any(isinstance(f, _DropLines) for f in log.filters):
            log.addFilter(_DropLines())


#: The running job's log file (``<run_dir>/train.log``), set by ``ganlab-train`` for the job's duration.
_RUN_LOG: list = [None]


def set_run_log(path) -> None:
    """Where ``say`` copies its lines (None: nowhere); also sends Lightning's own log lines there."""
    import logging

    _RUN_LOG[0] = path
    lightning = logging.getLogger("pytorch_lightning")
    for handler in [h for h in lightning.handlers if getattr(h, "_ganlab_run_log", False)]:
        lightning.removeHandler(handler)
        handler.close()
    if path is not None:
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        handler.addFilter(_DropLines())
        handler._ganlab_run_log = True
        lightning.addHandler(handler)


def say(text: str, error: bool = False) -> None:
    """A line for the user: on stdout (stderr with ``error``) and in the run's ``train.log``."""
    import sys
    import time

    print(text, file=sys.stderr if error else sys.stdout, flush=True)
    if _RUN_LOG[0] is not None:
        try:
            with open(_RUN_LOG[0], "a") as log:
                log.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}\n")
        except OSError:
            pass
