"""GAN inversion: find z with G(z) ≈ x by gradient descent on z from S random starts, keep the best (course
report 000, "GAN Q2"), with all N·S latents of N images optimised as one batch.

Batching changes nothing but speed: each latent's loss depends on that latent only (the generator runs in eval
mode, so BatchNorm uses its running statistics and no sample sees another), so the gradient of the summed losses
with respect to one latent is the gradient of its own loss, and SGD / Adam update every latent element-wise. The
result equals N·S separate runs from the same starting points up to floating-point rounding (kernels may sum in a
batch-size-dependent order; on the MNIST DCGAN the final MSEs were identical, experiments/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

OPTIMIZERS = ("sgd", "adam")


@dataclass
class Inversion:
    """The best latent per image and everything needed to plot how the search went."""

    z: Tensor  # (N, d): the best restart's latent per image
    loss: Tensor  # (N,): its final loss (MSE on the observed pixels)
    restart_z: Tensor  # (N, S, d): every restart's final latent
    restart_loss: Tensor  # (N, S): every restart's final loss
    curves: Tensor  # (T, N, S): the loss of every restart at every iteration
    best: Tensor  # (N,): index of the best restart

    @property
    def restarts(self) -> int:
        return self.restart_loss.shape[1]


def masked_mse(output: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Per-sample mean squared error over the observed pixels (``mask`` 1 = observed, broadcast over channels)."""
    sq = (output - target) ** 2
    if mask is None:
        return sq.flatten(1).mean(1)
    weights = mask.expand_as(sq).to(sq.dtype)
    return (sq * weights).flatten(1).sum(1) / weights.flatten(1).sum(1).clamp_min(1.0)


def _check_shapes(generate: Callable[[Tensor], Tensor], targets: Tensor, mask: Tensor | None, z: Tensor) -> None:
    with torch.no_grad():
        produced = tuple(generate(z[:1]).shape[1:])
    if produced != tuple(targets.shape[1:]):
        raise ValueError(
            f"target images are {tuple(targets.shape[1:])} but the generator makes {produced}; "
            "accepted: images of the generator's output shape"
        )
    if mask is not None and mask.shape[0] not in (1, targets.shape[0]):
        raise ValueError(f"mask batch {mask.shape[0]} does not match {targets.shape[0]} images; accepted: 1 or N")


def invert(
    generate: Callable[[Tensor], Tensor],
    targets: Tensor,
    latent_dim: int,
    restarts: int = 5,
    iterations: int = 500,
    lr: float = 0.05,
    optimizer: str = "adam",
    momentum: float = 0.0,
    prior_weight: float = 0.0,
    mask: Tensor | None = None,
    seed: int = 0,
    z_init: Tensor | None = None,
) -> Inversion:
    """Minimise ``masked_mse(G(z), x) + prior_weight · mean(z²)`` over z for every image and restart at once.

    ``generate``: z (B, d) → images (B, …), e.g. a generator in eval mode. ``mask``: 1 = observed pixel (N or 1
    masks of the images' shape, channels may be 1). ``z_init``: (N, S, d) starting latents (default: N(0, I) from
    ``seed``). The prior term pulls z towards the prior's typical set; the reported losses are the MSE alone."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is not known; accepted: {', '.join(OPTIMIZERS)}")
    if restarts < 1 or iterations < 0:
        raise ValueError(f"need restarts >= 1 and iterations >= 0, got {restarts} and {iterations}")
    n, s = targets.shape[0], restarts
    if z_init is None:
        generator = torch.Generator(device="cpu").manual_seed(seed)
        z_init = torch.randn(n, s, latent_dim, generator=generator)
    z = z_init.reshape(n * s, latent_dim).to(targets.device).clone().requires_grad_(True)
    _check_shapes(generate, targets, mask, z)
    target_rep = targets.repeat_interleave(s, dim=0)
    mask_rep = None if mask is None else mask.expand(n, *mask.shape[1:]).repeat_interleave(s, dim=0)
    opt = torch.optim.SGD([z], lr=lr, momentum=momentum) if optimizer == "sgd" else torch.optim.Adam([z], lr=lr)
    curves = torch.empty(iterations, n, s)
    for t in range(iterations):
        opt.zero_grad(set_to_none=True)
        mse = masked_mse(generate(z), target_rep, mask_rep)
        objective = mse + prior_weight * (z**2).mean(1) if prior_weight else mse
        objective.sum().backward()
        opt.step()
        curves[t] = mse.detach().view(n, s).cpu()
    with torch.no_grad():
        final = masked_mse(generate(z), target_rep, mask_rep).view(n, s).cpu()
    restart_z = z.detach().view(n, s, latent_dim)
    best = final.argmin(dim=1)
    return Inversion(
        z=restart_z[torch.arange(n), best.to(restart_z.device)],
        loss=final[torch.arange(n), best],
        restart_z=restart_z,
        restart_loss=final,
        curves=curves,
        best=best,
    )
