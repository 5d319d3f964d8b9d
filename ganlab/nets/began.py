"""BEGAN's networks (Berthelot et al. 2017): an autoencoder discriminator and a generator shaped like its
decoder. 3×3 convolutions with ELU, two per level; down-sampling by stride-2 convolutions with channels
growing n, 2n, 3n, …; up-sampling by nearest neighbour; an ``hidden``-wide bottleneck.

Levels halve the image until it is at most 8 wide (28 → 14 → 7, 32 → 16 → 8, 64 → … → 8). ``skip=true``
adds the paper's skip connections to both decoders (G and D's).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganlab.nets.base import Generator, require
from ganlab.nets.conv import square
from ganlab.nets.init import Initialised


def levels(size: int, name: str) -> tuple[int, int]:
    """(number of ×2 levels, smallest size)."""
    original, count = size, 0
    while size > 8 and size % 2 == 0:
        size, count = size // 2, count + 1
    require(
        count >= 1 and 4 <= size <= 8,
        f"{name} needs an image size s·2ⁿ with 4 ≤ s ≤ 8 and n ≥ 1, got {original}; e.g. 28, 32, 64",
    )
    return count, size


def conv_elu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.ELU()]


class Decoder(nn.Module):
    """h → Linear → n × s × s → [2 × conv_elu → ×2 nearest] per level → 2 × conv_elu → Conv 3×3 to C.

    ``skip``: the paper's skip connections (§3.5): the first n × s × s map, up-sampled to each level's size, is
    concatenated to that level's input (its first convolution takes 2n channels)."""

    def __init__(self, hidden: int, n: int, channels: int, count: int, start: int, skip: bool = False):
        super().__init__()
        self.n, self.start, self.skip = n, start, skip
        self.fc = nn.Linear(hidden, n * start * start)
        width_in = 2 * n if skip else n
        self.levels = nn.ModuleList(
            nn.Sequential(*conv_elu(width_in if level else n, n), *conv_elu(n, n)) for level in range(count + 1)
        )
        self.out = nn.Conv2d(n, channels, 3, 1, 1)

    def forward(self, h: Tensor) -> Tensor:
        h0 = self.fc(h).view(h.shape[0], self.n, self.start, self.start)
        x = h0
        for level, block in enumerate(self.levels):
            if level:
                x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
                if self.skip:
                    x = torch.cat([x, nn.functional.interpolate(h0, size=x.shape[-2:], mode="nearest")], dim=1)
            x = block(x)
        return self.out(x)


class BEGANGenerator(Generator):
    def __init__(self, latent_dim: int, out_shape: Sequence[int], n: int = 64, skip: bool = False, **conditioning):
        super().__init__(latent_dim, out_shape, **conditioning)
        channels, size = square(self.out_shape, type(self).__name__)
        count, start = levels(size, type(self).__name__)
        self.net = nn.Sequential(Decoder(self.input_dim, n, channels, count, start, skip), nn.Tanh())

    def decode(self, h: Tensor) -> Tensor:
        return self.net(h)


class BEGANAutoencoder(Initialised):
    """The discriminator: ``forward(x)`` returns the reconstruction of ``x``."""

    def __init__(self, in_shape: Sequence[int], n: int = 64, hidden: int = 64, skip: bool = False):
        super().__init__()
        self.in_shape = tuple(in_shape)
        channels, size = square(self.in_shape, type(self).__name__)
        count, start = levels(size, type(self).__name__)
        layers: list[nn.Module] = conv_elu(channels, n)
        for level in range(count):
            c = n * (level + 1)
            layers += conv_elu(c, c) + conv_elu(c, c) + conv_elu(c, n * (level + 2), stride=2)
        c = n * (count + 1)
        layers += conv_elu(c, c) + conv_elu(c, c) + [nn.Flatten(), nn.Linear(c * start * start, hidden)]
        self.encoder = nn.Sequential(*layers)
        self.decoder = Decoder(hidden, n, channels, count, start, skip)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))
