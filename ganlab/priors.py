"""Latent priors p(z): ``normal`` (N(0, I), the default) and ``uniform`` (U[−1, 1]^d, BEGAN's and DCGAN's)."""

from __future__ import annotations

import torch
from torch import Tensor

PRIORS = ("normal", "uniform")


def check_prior(prior: str) -> str:
    if prior not in PRIORS:
        raise ValueError(f"latent_prior={prior!r} is invalid; accepted: {', '.join(PRIORS)}")
    return prior


def draw_latent(n: int, dim: int, prior: str = "normal", generator: torch.Generator | None = None) -> Tensor:
    """``n`` latents of width ``dim`` from ``prior``, drawn from ``generator`` (on its device)."""
    device = generator.device if generator is not None else None
    if check_prior(prior) == "uniform":
        return torch.rand(n, dim, generator=generator, device=device) * 2.0 - 1.0
    return torch.randn(n, dim, generator=generator, device=device)
