"""Leaf: files in a run folder written atomically and durably, and a full disk said in one line.

``write_durably(path, write)`` writes to a temporary file beside ``path`` (never ``$TMPDIR``: a small node-local
``/tmp`` must not decide whether a run can save), fsyncs it, renames it over ``path`` and fsyncs the folder: a crash
leaves the old file or the new one, never a mix. A full disk or spent quota removes the partial file, leaves
``path`` as it was and raises ``StorageFull``, one line naming the path and the free space. ``stale_temporaries``
lists what a killed writer left behind (cleaned when a run starts).
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO


class StorageFull(OSError):
    """A run file could not be written because its filesystem is full: one line naming the path and the free space,
    the previous file intact (``ganlab-train`` exits 4)."""


#: errno values that mean "no room": the disk is full, or the user's quota is spent.
NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
TMP_SUFFIX = ".tmp"


def free_space(folder: Path) -> str:
    """The free space on ``folder``'s filesystem, human-readable."""
    try:
        free = float(shutil.disk_usage(folder).free)
    except OSError:
        return "unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if free < 1024:
            return f"{free:.0f} {unit}" if unit == "B" else f"{free:.1f} {unit}"
        free /= 1024
    return f"{free:.1f} TB"


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder's entry for a renamed file is durable only after this)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def no_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the filesystem running out of room. torch.save reports a full disk as
    RuntimeError("... file write failed") whose errno is lost."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in NO_SPACE:
            return True
        seen = seen.__cause__ or seen.__context__
    return isinstance(exc, RuntimeError) and "write failed" in str(exc)


def write_durably(path: Path, write: Callable[[IO[bytes]], object], what: str = "the previous file") -> None:
    """``write(file)`` into ``.<name>.<pid>.tmp`` beside ``path``, fsynced, renamed over ``path``, the folder fsynced.
    ``StorageFull`` when the filesystem has no room (``path`` unchanged, the partial file removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        with open(staging, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(staging, path)
        fsync_path(path.parent)
    except BaseException as exc:
        staging.unlink(missing_ok=True)
        if isinstance(exc, Exception) and no_space(exc):
            raise StorageFull(
                f"cannot write {path}: no space left on its filesystem ({free_space(path.parent)} free); "
                f"{what} is intact: free space, then run the same command to resume"
            ) from exc
        raise


def set_aside(path: Path, what: str) -> Path:
    """Move a damaged run file to ``<name>.damaged`` and say so in one line on stderr (``what``: what happens
    instead, e.g. "rebuilt"); the aside path."""
    aside = path.with_name(path.name + ".damaged")
    path.replace(aside)
    print(f"[ganlab] {path} was damaged: moved to {aside.name}, {what}", file=sys.stderr)
    return aside


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporary files a killed writer left in ``folder`` (names ending in ``.tmp``)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(TMP_SUFFIX))
