"""Leaf: file and folder paths on the command line. A multirun job's folder is named by its overrides
(``0_loss=hinge,seed=1``), so the path of its checkpoint holds ``=`` and ``,``, which Hydra's override grammar
reads as syntax ("mismatched input '='"). The entry points quote such a value for the user. Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Settings whose value is a path (``paths.*`` too).
PATH_KEYS = frozenset(
    {
        "ckpt",
        "ckpt_path",
        "mask_file",
        "classifier",
        "classifier_dir",
        "cache_dir",
        "inception_weights",
        "data_root",
        "data.root",
    }
)


def is_path_key(key: str) -> bool:
    key = key.lstrip("+~")
    return key in PATH_KEYS or key.startswith("paths.")


def quote_paths(argv: Sequence[str]) -> list[str]:
    """``argv`` with every unquoted path value that holds ``=`` put in single quotes (a value without ``=`` is left
    alone: ``ckpt_path=a.ckpt,b.ckpt`` stays a sweep; a value holding a quote is left for Hydra to report)."""
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and is_path_key(key) and "=" in value and not value.startswith(("'", '"')) and "'" not in value:
            arg = f"{key}='{value}'"
        out.append(arg)
    return out
