"""Stacked-MNIST (Metz et al. 2017; VEEGAN; PacGAN): three MNIST digits as the R, G and B channels of one
image, so the data has 1 000 modes, labelled 100·d_R + 10·d_G + d_B.

The triples of digit indices are drawn once from ``stack_seed`` (not the run seed), so every run sees the
same dataset; images are composed on access (a batch in one gather from the decoded digits), so the dataset
costs only its index table.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganlab.data.images import MNISTDataModule


def stacked_label(digits: Tensor) -> Tensor:
    """(…, 3) channel digits → the 1 000-way label 100·d_R + 10·d_G + d_B."""
    return digits[..., 0] * 100 + digits[..., 1] * 10 + digits[..., 2]


class StackedMNIST(Dataset):
    def __init__(self, digits: Dataset, length: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.digits = digits
        self.index = torch.from_numpy(rng.integers(0, len(digits), size=(length, 3)))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        parts = [self.digits[int(j)] for j in self.index[i]]
        image = torch.cat([x for x, _ in parts], dim=0)
        return image, int(stacked_label(torch.tensor([int(y) for _, y in parts])))

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, int]]:
        """A batch in one gather from decoded digits (``DecodedImages.batch``): the values ``__getitem__`` gives."""
        if not hasattr(self.digits, "batch"):
            return [self[i] for i in indices]
        triples = self.index[torch.as_tensor(indices, dtype=torch.long)]  # (B, 3)
        images, labels = self.digits.batch(triples.flatten())
        images = images.view(len(indices), 3, *images.shape[-2:])
        stacked = stacked_label(labels.view(-1, 3))
        return list(zip(images.unbind(0), stacked.tolist(), strict=True))


class StackedMNISTDataModule(MNISTDataModule):
    name = "stacked_mnist"
    channels = 3
    num_classes = 1000
    classify_per_channel = True  # the MNIST classifier reads each channel (Metz et al.; VEEGAN; PacGAN)
    mode_reference = "uniform"  # their mode KL is to the uniform distribution over the 1 000 modes

    def __init__(self, *args, length: int = 128_000, stack_seed: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.length, self.stack_seed = length, stack_seed

    def load(self, download):
        return StackedMNIST(super().load(download), self.length, self.stack_seed)
