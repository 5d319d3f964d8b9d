"""2-D Gaussian mixtures: the ring (8 modes, radius 2, std 0.02; Metz et al.) and the grid
(25 modes on {-4, -2, 0, 2, 4}², std 0.05; VEEGAN / PacGAN). Embedded: no download, no files."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import TensorDataset
from torchdata.stateful_dataloader import StatefulDataLoader

from ganlab.data.sampling import EpochBatchSampler
from ganlab.data.shapes import check_declared_shape


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


class Toy2DDataModule(pl.LightningDataModule):
    name = "toy2d"

    """A fixed pool of ``pool_size`` points drawn once from the mixture (seeded), served in random
    batches; an "epoch" is ``iterations_per_epoch`` batches (the evaluation cadence).

    Batches are gathered by fancy indexing (a batch sampler used as the sampler), not collated sample by
    sample; their order is ``EpochBatchSampler``'s, so resumed runs continue the same sequence exactly.
    """

    def __init__(
        self,
        mixture: str = "ring",
        batch_size: int = 512,
        iterations_per_epoch: int = 250,
        pool_size: int = 100_000,
        seed: int = 0,
        mixture_kwargs: dict | None = None,
        shape: list[int] | None = None,
    ):
        super().__init__()
        if mixture not in MIXTURES:
            raise ValueError(f"unknown mixture {mixture!r}; accepted: {', '.join(MIXTURES)}")
        self.mixture_name = mixture
        self.mixture = MIXTURES[mixture](**(mixture_kwargs or {}))
        self.batch_size = batch_size
        self.iterations_per_epoch = iterations_per_epoch
        self.pool_size = pool_size
        self.seed = seed
        self.dataset: TensorDataset | None = None
        check_declared_shape(self, shape)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (2,)

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is None:
            points = self.mixture.sample(self.pool_size, torch.Generator().manual_seed(self.seed))
            self.dataset = TensorDataset(points)

    def train_dataloader(self) -> StatefulDataLoader:
        self.setup()
        batches = EpochBatchSampler(
            len(self.dataset),
            self.batch_size,
            seed=self.seed,
            replacement=True,
            num_samples=self.batch_size * self.iterations_per_epoch,
        )
        # batch_size=None with a sampler of index lists: one fancy-indexing gather per batch, no collation
        generator = torch.Generator().manual_seed(self.seed + 1)  # base seed only: no draw from the global RNG
        return StatefulDataLoader(self.dataset, sampler=batches, batch_size=None, generator=generator)
