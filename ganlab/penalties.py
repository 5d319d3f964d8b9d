"""Regularisers that need the discriminator and samples, and constraints on its weights.

Penalties receive the discriminator as a function ``d_fn: x -> logits`` so that the same code serves
the real network and the functional look-ahead copy used by unrolling (``ganlab.unroll``).
Randomness comes from an explicit ``torch.Generator`` so runs resume exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from ganlab.losses import DiscriminatorFn


def _per_sample_shape(x: Tensor) -> tuple[int, ...]:
    return (x.shape[0],) + (1,) * (x.dim() - 1)


def gradient_norm_penalty(d_fn: DiscriminatorFn, points: Tensor, center: float = 1.0) -> Tensor:
    """E[(||∇_x D(x)||₂ - center)²] at ``points``; the norm is per sample over all non-batch dims.
    ``create_graph=True`` so that the penalty is differentiable w.r.t. D's parameters."""
    points = points.detach().requires_grad_(True)
    out = d_fn(points)
    (grad,) = torch.autograd.grad(out.sum(), points, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - center) ** 2).mean()


class Penalty:
    weight: float

    def __call__(
        self, d_fn: DiscriminatorFn, real: Tensor, fake: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        raise NotImplementedError


class GradientPenalty(Penalty):
    """WGAN-GP (Gulrajani et al. 2017): λ·E[(||∇D(x̂)||₂ - 1)²], x̂ = εx + (1-ε)G(z), ε ~ U[0, 1] per sample."""

    def __init__(self, weight: float = 10.0, center: float = 1.0):
        self.weight, self.center = float(weight), float(center)

    def __call__(self, d_fn, real, fake, generator=None):
        eps = torch.rand(_per_sample_shape(real), generator=generator, device=real.device, dtype=real.dtype)
        points = eps * real.detach() + (1.0 - eps) * fake.detach()
        return self.weight * gradient_norm_penalty(d_fn, points, self.center)

    def __repr__(self) -> str:
        return f"GradientPenalty(weight={self.weight}, center={self.center})"


class DraganPenalty(Penalty):
    """DRAGAN (Kodali et al. 2017): the gradient penalty at perturbed reals.
    x_p = x + c·std(x)·U[0, 1) (elementwise), x̂ = x + α(x_p - x), α ~ U[0, 1] per sample."""

    def __init__(self, weight: float = 10.0, c: float = 0.5, center: float = 1.0):
        self.weight, self.c, self.center = float(weight), float(c), float(center)

    def __call__(self, d_fn, real, fake, generator=None):
        real = real.detach()
        noise = torch.rand(real.shape, generator=generator, device=real.device, dtype=real.dtype)
        alpha = torch.rand(_per_sample_shape(real), generator=generator, device=real.device, dtype=real.dtype)
        points = real + alpha * (self.c * real.std() * noise)
        return self.weight * gradient_norm_penalty(d_fn, points, self.center)

    def __repr__(self) -> str:
        return f"DraganPenalty(weight={self.weight}, c={self.c})"


class WeightClipping:
    """WGAN's Lipschitz constraint: every discriminator weight clamped to [-clip, clip] after each update."""

    def __init__(self, clip: float = 0.01):
        if clip <= 0:
            raise ValueError(f"WeightClipping: clip={clip} must be > 0")
        self.clip = float(clip)

    @torch.no_grad()
    def apply_(self, params: Iterable[Tensor]) -> None:
        for p in params:
            p.clamp_(-self.clip, self.clip)

    def apply(self, tensor: Tensor) -> Tensor:
        """Out-of-place version for functional (unrolled) parameters."""
        return tensor.clamp(-self.clip, self.clip)

    def __repr__(self) -> str:
        return f"WeightClipping(clip={self.clip})"
