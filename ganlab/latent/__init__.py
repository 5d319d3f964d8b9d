"""Latent-space tools on a trained generator (pure functions): inversion with batched multi-restart search,
inpainting masks, interpolation, vector arithmetic and truncated sampling. ``ganlab-latent`` (``ganlab/cli/latent.py``)
runs them on a checkpoint."""

from ganlab.latent.inversion import Inversion, invert, masked_mse
from ganlab.latent.masks import MASKS, apply_mask, crosswalk_mask, load_mask, make_mask, pepper_mask, square_mask
from ganlab.latent.walks import ALPHAS, arithmetic, interpolate, lerp, slerp, truncate, truncated_normal

__all__ = [
    "ALPHAS",
    "MASKS",
    "Inversion",
    "apply_mask",
    "arithmetic",
    "crosswalk_mask",
    "interpolate",
    "invert",
    "lerp",
    "load_mask",
    "make_mask",
    "masked_mse",
    "pepper_mask",
    "slerp",
    "square_mask",
    "truncate",
    "truncated_normal",
]
