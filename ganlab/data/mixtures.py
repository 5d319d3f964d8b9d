"""2-D Gaussian mixtures: the ring (8 modes, radius 2, std 0.02; Metz et al.) and the grid (25 modes on
{-4, -2, 0, 2, 4}², std 0.05; VEEGAN / PacGAN). torch only: metrics, plots and benchmarks use them without Lightning
(``ganlab/data/toy2d.py`` serves them as a LightningDataModule)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Mixture:
    """An isotropic Gaussian mixture with equal weights."""

    centers: Tensor  # (K, 2)
    std: float

    @property
    def n_modes(self) -> int:
        return self.centers.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        idx = torch.randint(self.n_modes, (n,), generator=generator)
        return self.centers[idx] + self.std * torch.randn(n, 2, generator=generator)


def ring_mixture(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return Mixture(centers.float(), std)


def grid_mixture(size: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    axis = (torch.arange(size, dtype=torch.float32) - (size - 1) / 2) * spacing
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    return Mixture(torch.stack([xs.flatten(), ys.flatten()], dim=1), std)


MIXTURES = {"ring": ring_mixture, "grid": grid_mixture}
