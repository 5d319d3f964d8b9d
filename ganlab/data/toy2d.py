"""The 2-D Gaussian mixtures (``ganlab/data/mixtures.py``) as a LightningDataModule: a seeded pool of points served
in random batches. Embedded: no download, no files."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import TensorDataset
from torchdata.stateful_dataloader import StatefulDataLoader

from ganlab.data.mixtures import MIXTURES
from ganlab.data.sampling import EpochBatchSampler
from ganlab.data.shapes import check_declared_shape


class FreshDraws:
    """An unbounded pool: every batch is a fresh draw from the mixture (Metz et al.'s notebook samples the mixture at
    every step). The sampler hands out random indices into 2⁶² slots; a batch's points are drawn from a generator
    seeded by its first index, so the stream is a pure function of the sampler's state (exact resume, DDP ranks
    disjoint) and no batch repeats another in practice."""

    size = 2**62

    def __init__(self, mixture, seed: int):
        self.mixture, self.seed = mixture, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor]:
        generator = torch.Generator().manual_seed((int(indices[0]) + self.seed) % 2**63)
        return (self.mixture.sample(len(indices), generator),)


class Toy2DDataModule(pl.LightningDataModule):
    name = "toy2d"

    """A fixed pool of ``pool_size`` points drawn once from the mixture (seeded), served in random
    batches; ``pool_size=None``: a fresh draw from the mixture for every batch (``FreshDraws``). An "epoch" is
    ``iterations_per_epoch`` batches (the evaluation cadence).

    Batches are gathered by fancy indexing (a batch sampler used as the sampler), not collated sample by
    sample; their order is ``EpochBatchSampler``'s, so resumed runs continue the same sequence exactly.
    """

    def __init__(
        self,
        mixture: str = "ring",
        batch_size: int = 512,
        iterations_per_epoch: int = 250,
        pool_size: int | None = 100_000,
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
        self.dataset: TensorDataset | FreshDraws | None = None
        check_declared_shape(self, shape)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (2,)

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is None and self.pool_size is None:
            self.dataset = FreshDraws(self.mixture, self.seed)
        elif self.dataset is None:
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
