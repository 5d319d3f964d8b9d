"""Leaf: the user-facing error type, the one-line message rule and where the configs live. Imports nothing from
ganlab, so every layer can raise a ``ConfigError`` without loading the orchestration above it."""

from __future__ import annotations

from pathlib import Path


def _conf_dir() -> Path:
    """The Hydra config tree: ``ganlab/conf`` inside an installed wheel (setup.py copies it there at build time),
    else ``conf/`` at the top of the repository the package was imported from (a clone, an editable install)."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "conf"
    return packaged if packaged.is_dir() else package.parent / "conf"


#: The Hydra config tree and the primary config of ``ganlab-train``.
CONF_DIR = _conf_dir()
PRIMARY = "train"


class ConfigError(ValueError):
    """A configuration mistake; its message is a single line meant for the user."""


def one_line(exc: BaseException) -> str:
    """An exception (and its cause) as one line: Hydra / OmegaConf context lines dropped, repeats removed."""
    parts = []
    for e in (exc, exc.__cause__):
        if e is None:
            continue
        for line in str(e).splitlines():
            line = line.strip()
            if line and not line.startswith(("full_key", "object_type", "reference_type", "Set the environment")):
                parts.append(line)
    return "; ".join(dict.fromkeys(parts))


class NothingToTrain(Exception):
    """A single run would resume a checkpoint already at its configured length: one line, exit 0, nothing written."""


class Diverged(RuntimeError):
    """Training produced a non-finite loss, gradient or weight (``callbacks/divergence.py``); one line for the user."""


class PeerLost(RuntimeError):
    """A multi-process run's peer died, hung past the collective timeout or never started; one line (exit 5)."""
