"""Leaf: facts about the running process (Slurm job id). Imports only the standard library."""

from __future__ import annotations

import os


def slurm_job_id() -> str | None:
    """This Slurm job's id (``<array job>_<task>`` for an array task), None outside Slurm."""
    array_job, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array_job}_{task}" if array_job and task else os.environ.get("SLURM_JOB_ID")


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
    if str(path) in _HELD:
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
