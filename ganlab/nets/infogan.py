"""The InfoGAN-style pair that Lucic et al. (2018, "Are GANs created equal?") use for every loss.

G: FC 1024 → BN → ReLU → FC 128·(s/4)² → BN → ReLU → ConvT 64 (4, 2, 1) → BN → ReLU → ConvT C (4, 2, 1) → tanh
D: Conv 64 (4, 2, 1) → LReLU → Conv 128 (4, 2, 1) → norm → LReLU → FC 1024 → norm → LReLU → FC 1
(tanh rather than their sigmoid because ganlab's images live in [−1, 1]). Any square size divisible by 4.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ganlab.nets.base import Discriminator, Generator, require
from ganlab.nets.conv import square
from ganlab.nets.layers import norm1d, norm2d


def _quarter(shape: Sequence[int], name: str) -> tuple[int, int]:
    channels, size = square(shape, name)
    require(size % 4 == 0, f"{name} needs an image size divisible by 4, got {size}; e.g. 28, 32, 64")
    return channels, size // 4


class InfoGANGenerator(Generator):
    def __init__(self, latent_dim: int, out_shape: Sequence[int], **conditioning):
        super().__init__(latent_dim, out_shape, **conditioning)
        channels, s = _quarter(self.out_shape, type(self).__name__)
        self.fc = nn.Sequential(
            nn.Linear(self.input_dim, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
            nn.Linear(1024, 128 * s * s), nn.BatchNorm1d(128 * s * s), nn.ReLU(),
            nn.Unflatten(1, (128, s, s)),
        )  # fmt: skip
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, channels, 4, 2, 1), nn.Tanh(),
        )  # fmt: skip

    def decode(self, h: Tensor) -> Tensor:
        return self.deconv(self.fc(h))


class InfoGANDiscriminator(Discriminator):
    def __init__(self, in_shape: Sequence[int], norm: str = "batch", **options):
        super().__init__(in_shape, **options)
        _, s = _quarter(self.in_shape, type(self).__name__)
        self.body = nn.Sequential(
            nn.Conv2d(self.input_shape[0], 64, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, 2, 1), norm2d(norm, 128), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(128 * s * s, 1024), norm1d(norm, 1024), nn.LeakyReLU(0.2),
        )  # fmt: skip
        self.build_head(1024)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)
