"""The course report's autoencoder (000, "Non-Adversarial Networks Q1"): an encoder of 3 convolutions + 1 fully
connected layer (ReLU, BatchNorm) to a latent code z with no activation, and a decoder of 1 fully connected layer
+ 3 transposed convolutions. The decoder is a ``Generator``: z ~ N(0, I) → images, like a GAN's G.

Every convolution is 4×4 with stride 2 and padding 1, so each halves the image (rounding down: 28 → 14 → 7 → 3,
32 → 16 → 8 → 4, 64 → 32 → 16 → 8); the decoder mirrors the encoder's sizes exactly (a transposed convolution
with ``output_padding`` 1 where the encoder rounded down), so any image of at least 8×8 pixels works.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from ganlab.nets.base import Generator, require
from ganlab.nets.init import Initialised
from ganlab.nets.layers import activation as make_activation
from ganlab.nets.layers import norm2d


def halvings(height: int, width: int, count: int, name: str) -> list[tuple[int, int]]:
    """Spatial sizes after each of ``count`` stride-2 convolutions (k 4, p 1: size // 2), input first."""
    sizes = [(height, width)]
    for _ in range(count):
        h, w = sizes[-1]
        sizes.append((h // 2, w // 2))
    require(
        min(sizes[-1]) >= 1,
        f"{name}: {count} stride-2 layers cannot shrink {height}×{width} images; accepted: at least "
        f"{2**count}×{2**count} pixels",
    )
    return sizes


def image_shape(shape: Sequence[int], name: str) -> tuple[int, int, int]:
    require(len(shape) == 3, f"{name} needs image shapes (C, H, W), got {list(shape)}")
    return tuple(int(s) for s in shape)


class ConvEncoder(Initialised):
    """x (C, H, W) → z (latent_dim): [Conv 4×4 stride 2 → norm → activation] per width → flatten → Linear."""

    def __init__(
        self,
        in_shape: Sequence[int],
        latent_dim: int = 100,
        widths: Sequence[int] = (32, 64, 128),
        norm: str = "batch",
        activation: str = "relu",
    ):
        super().__init__()
        self.in_shape, self.latent_dim = image_shape(in_shape, type(self).__name__), latent_dim
        channels, height, width = self.in_shape
        sizes = halvings(height, width, len(widths), type(self).__name__)
        layers: list[nn.Module] = []
        for c_in, c_out in zip((channels, *widths), widths, strict=False):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none"), norm2d(norm, c_out)]
            layers.append(make_activation(activation))
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.fc = nn.Linear(widths[-1] * math.prod(sizes[-1]), latent_dim)  # no activation: z is unbounded

    def features(self, x: Tensor) -> Tensor:
        """The representation a linear probe reads (``ganlab-eval metrics=[probe]``): the latent code."""
        return self(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.body(x))


class ConvDecoder(Generator):
    """z → Linear → activation → (widths[0], h, w) → [ConvT 4×4 stride 2 → norm → activation] between widths
    → ConvT to the image channels → output activation (tanh: images in [−1, 1])."""

    def __init__(
        self,
        latent_dim: int,
        out_shape: Sequence[int],
        widths: Sequence[int] = (128, 64, 32),
        norm: str = "none",
        activation: str = "relu",
        output_activation: str = "tanh",
        **conditioning,
    ):
        super().__init__(latent_dim, image_shape(out_shape, type(self).__name__), **conditioning)
        channels, height, width = self.out_shape
        sizes = halvings(height, width, len(widths), type(self).__name__)[::-1]  # smallest first
        start = sizes[0]
        layers: list[nn.Module] = [
            nn.Linear(self.input_dim, widths[0] * math.prod(start)),
            make_activation(activation),
            nn.Unflatten(1, (widths[0], *start)),
        ]
        outs = (*widths[1:], channels)
        for i, (c_in, c_out) in enumerate(zip(widths, outs, strict=True)):
            (h, w), (next_h, next_w) = sizes[i], sizes[i + 1]
            padding = (next_h - 2 * h, next_w - 2 * w)  # 1 where the encoder's halving rounded down
            last = i == len(widths) - 1
            bias = last or norm == "none"
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, output_padding=padding, bias=bias))
            if last:
                layers.append(make_activation(output_activation))
            else:
                layers += [norm2d(norm, c_out), make_activation(activation)]
        self.net = nn.Sequential(*layers)

    def decode(self, h: Tensor) -> Tensor:
        return self.net(h)
