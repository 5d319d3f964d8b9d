"""Walks in latent space: interpolation (linear, spherical), vector arithmetic on group means, truncated sampling.

Each works on latents of any generator (a GAN's G, or the autoencoder's decoder: ``interpolate`` is the hook the
kurtosis AE uses with its encoder's codes).
"""

from __future__ import annotations

import torch
from torch import Tensor

#: The course report's interpolation steps: 0, 0.125, …, 1.
ALPHAS = tuple(i / 8 for i in range(9))
MODES = ("linear", "spherical")


def lerp(z1: Tensor, z2: Tensor, alpha: float) -> Tensor:
    return (1.0 - alpha) * z1 + alpha * z2


def slerp(z1: Tensor, z2: Tensor, alpha: float, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation along the great circle (with linearly interpolated norm); lerp when parallel."""
    n1, n2 = z1.norm(dim=-1, keepdim=True), z2.norm(dim=-1, keepdim=True)
    u1, u2 = z1 / n1.clamp_min(eps), z2 / n2.clamp_min(eps)
    omega = torch.arccos((u1 * u2).sum(-1, keepdim=True).clamp(-1.0, 1.0))
    sin = torch.sin(omega)
    direction = torch.where(
        sin.abs() < eps,
        lerp(u1, u2, alpha),
        (torch.sin((1.0 - alpha) * omega) * u1 + torch.sin(alpha * omega) * u2) / sin.clamp_min(eps),
    )
    return direction * lerp(n1, n2, alpha)


def interpolate(z1: Tensor, z2: Tensor, alphas=ALPHAS, mode: str = "linear") -> Tensor:
    """(len(alphas), *z1.shape): the path from z1 (α = 0) to z2 (α = 1)."""
    if mode not in MODES:
        raise ValueError(f"interpolation mode={mode!r} is not known; accepted: {', '.join(MODES)}")
    step = lerp if mode == "linear" else slerp
    return torch.stack([step(z1, z2, float(a)) for a in alphas])


def arithmetic(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """mean(a) − mean(b) + mean(c) over each group's latents (e.g. smiling woman − woman + man)."""
    return a.mean(0) - b.mean(0) + c.mean(0)


def truncate(z: Tensor, threshold: float, generator: torch.Generator | None = None) -> Tensor:
    """``z`` with every entry |z_i| > threshold redrawn from N(0, 1) until it falls inside (BigGAN's truncation
    trick: a smaller threshold gives higher quality and less diversity; ``inf`` leaves z as it is)."""
    if threshold <= 0:
        raise ValueError(f"truncation threshold={threshold} is invalid; accepted: a number > 0")
    z = z.clone()
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator).to(z.device, z.dtype)
        outside = z.abs() > threshold
    return z


def truncated_normal(n: int, dim: int, threshold: float, generator: torch.Generator | None = None) -> Tensor:
    """n samples of N(0, I) truncated at ``threshold`` (see ``truncate``)."""
    return truncate(torch.randn(n, dim, generator=generator), threshold, generator)
