"""Latent-space tools on a trained generator (pure functions): inversion with batched multi-restart search,
inpainting masks, interpolation, vector arithmetic and truncated sampling.

The names load on first use (PEP 562): ``ganlab-latent``'s entry (``ganlab/latent/cli.py``) lives in this package
and answers ``--help`` and bad settings without importing torch."""

from __future__ import annotations

import importlib

#: name → the submodule that defines it
_WHERE = {
    **dict.fromkeys(("Inversion", "invert", "masked_mse"), "inversion"),
    **dict.fromkeys(
        ("MASKS", "apply_mask", "crosswalk_mask", "load_mask", "make_mask", "pepper_mask", "square_mask"), "masks"
    ),
    **dict.fromkeys(("ALPHAS", "arithmetic", "interpolate", "lerp", "slerp", "truncate", "truncated_normal"), "walks"),
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
