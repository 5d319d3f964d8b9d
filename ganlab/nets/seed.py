"""The course report's MNIST generator ``M1``: three fully connected layers, then three ConvTranspose.

The report gives the design ("3 FC layers followed by 3 ConvTranspose") and the parameter count
(675 025 with z = 50) but not the layer table. This is a reconstruction that matches both:

    z → FC 64 → ReLU → FC 784 → ReLU → FC 784 → ReLU → view 16×7×7
      → ConvT 16 (4, 2, 1) → BN → ReLU → 14×14 → ConvT 16 (2, 2, 0) → BN → ReLU → 28×28
      → ConvT C (3, 1, 1) → tanh

Its partner ``M3`` is the fully connected D with dropout (``model/discriminator=m3``: 1024-512-256,
1 460 225 parameters on 28×28, exactly the report's count).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ganlab.nets.base import Generator, require


class M1Generator(Generator):
    def __init__(self, latent_dim: int = 50, out_shape: Sequence[int] = (1, 28, 28), **conditioning):
        super().__init__(latent_dim, out_shape, **conditioning)
        require(
            len(self.out_shape) == 3 and self.out_shape[1:] == (28, 28),
            f"M1Generator draws 28×28 images, got shape {list(self.out_shape)}; supported image sizes: 28",
        )
        self.fc = nn.Sequential(
            nn.Linear(self.input_dim, 64), nn.ReLU(),
            nn.Linear(64, 784), nn.ReLU(),
            nn.Linear(784, 784), nn.ReLU(),
            nn.Unflatten(1, (16, 7, 7)),
        )  # fmt: skip
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(16, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.ConvTranspose2d(16, 16, 2, 2, 0), nn.BatchNorm2d(16), nn.ReLU(),
            nn.ConvTranspose2d(16, self.out_shape[0], 3, 1, 1), nn.Tanh(),
        )  # fmt: skip

    def decode(self, h: Tensor) -> Tensor:
        return self.deconv(self.fc(h))
