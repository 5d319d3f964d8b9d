"""Leaf: the engine's named choices (enums), shared by the schemas (validation, without loading any module) and
the LightningModules that act on them. Imports only the standard library."""

from __future__ import annotations

from enum import Enum


class UnrollMode(str, Enum):
    """How the unrolled look-ahead reaches G: ``first_order`` (the surrogate D as a constant, the course report's
    copy method) or ``second_order`` (Metz et al.: gradients through the k D updates)."""

    first_order = "first_order"
    second_order = "second_order"


class UnrollSurrogate(str, Enum):
    """G's objective at the second-order look-ahead D_K (which depends on θ_G through the K updates, so a term on real
    data moves G too; Metz et al.'s f_K(θ_G, θ_D) = f(θ_G, θ_D^K(θ_G, θ_D))):

    - ``game``: G's loss on fakes minus D's loss on real data. For the zero-sum objectives (minimax, WGAN) this is
      −L_D(D_K), Metz et al.'s surrogate exactly (the reference notebook minimises −unrolled_loss); for the others
      G's own loss on fakes with the game's data term (G gains when D_K is wrong on real data).
    - ``own``: G's own objective as the loss's paper writes it, data term included: the game's for minimax and WGAN,
      Mao et al.'s +½E[(D(x) − c)²] for LSGAN, none for the non-saturating and hinge losses.
    - ``fake_only``: G's loss on fakes only (ganlab before issue #29, and most public ports).

    First order (D_K a constant for G) and k = 0 take G's loss on fakes only: a data term has no gradient there."""

    game = "game"
    own = "own"
    fake_only = "fake_only"


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
#: ADA's pipelines (``ganlab/augment/ada.py``): its own bgc ops, or DiffAugment's groups with ADA's p.
ADA_PIPELINES = ("bgc", "diffaugment")
