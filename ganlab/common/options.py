"""Leaf: the engine's named choices (enums), shared by the schemas (validation, without loading any module) and
the LightningModules that act on them. Imports only the standard library."""

from __future__ import annotations

from enum import Enum


class UnrollMode(str, Enum):
    """How the unrolled look-ahead reaches G: ``first_order`` (the surrogate D as a constant, the course report's
    copy method) or ``second_order`` (Metz et al.: gradients through the k D updates)."""

    first_order = "first_order"
    second_order = "second_order"


class Update(str, Enum):
    """``alternating`` (D steps, then G steps on the updated D) or ``simultaneous`` (both players' gradients at
    the same point, PacGAN's reference update)."""

    alternating = "alternating"
    simultaneous = "simultaneous"


#: Masks of ``ganlab-latent task=inpaint`` (``ganlab/latent/masks.py``).
MASKS = ("pepper", "crosswalk", "square")
#: Where ``ganlab-latent`` gets real images' latents: ``auto`` (an autoencoder's encoder, else inversion).
ENDPOINTS = ("auto", "encoder", "inversion")
#: DiffAugment's op groups (``ganlab/augment/diffaugment.py``), in the reference code's names.
AUGMENT_POLICIES = ("color", "translation", "cutout")
