"""The Stacked-MNIST pair of Metz et al. (2017, Unrolled GANs, §3.3.1), as PacGAN's reproduction writes it
(fjxmlzn/PacGAN ``stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G/model.py``), 28×28 only:

G: z (256) → Linear 64·4·4 → BN → ReLU → ConvT 3×3/2 → 7×7×32 → BN → ReLU → ConvT 3×3/2 → 14×14×16 → BN → ReLU
   → ConvT 3×3/2 → 28×28×8 → BN → ReLU → Conv 3×3/1 → C → tanh
D: [Conv 3×3/2 → BN → LeakyReLU(0.3)] × 3 with widths (2, 4, 8) ("D is ¼ of G") or (4, 8, 16) ("½ of G")
   → Linear 1 on the 4×4 map.

TensorFlow's "SAME" stride-2 layers become PyTorch's padding 1 (and ``output_padding`` 1 where 7 → 14 → 28).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ganlab.nets.base import Discriminator, Generator, require


def _require_28(shape: Sequence[int], name: str) -> int:
    require(
        len(shape) == 3 and tuple(shape[1:]) == (28, 28),
        f"{name} works on 28×28 images, got shape {list(shape)}; supported image sizes: 28",
    )
    return int(shape[0])


class MetzGenerator(Generator):
    def __init__(self, latent_dim: int = 256, out_shape: Sequence[int] = (3, 28, 28), **conditioning):
        super().__init__(latent_dim, out_shape, **conditioning)
        channels = _require_28(self.out_shape, type(self).__name__)
        self.fc = nn.Sequential(nn.Linear(self.input_dim, 64 * 4 * 4), nn.Unflatten(1, (64, 4, 4)))
        self.net = nn.Sequential(
            nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),  # 4 → 7
            nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), nn.BatchNorm2d(16), nn.ReLU(),  # 7 → 14
            nn.ConvTranspose2d(16, 8, 3, 2, 1, output_padding=1), nn.BatchNorm2d(8), nn.ReLU(),  # 14 → 28
            nn.Conv2d(8, channels, 3, 1, 1), nn.Tanh(),
        )  # fmt: skip

    def decode(self, h: Tensor) -> Tensor:
        return self.net(self.fc(h))


class MetzDiscriminator(Discriminator):
    def __init__(
        self,
        in_shape: Sequence[int] = (3, 28, 28),
        widths: Sequence[int] = (2, 4, 8),
        negative_slope: float = 0.3,
        **options,
    ):
        super().__init__(in_shape, **options)
        _require_28(self.in_shape, type(self).__name__)
        require(len(widths) == 3, f"MetzDiscriminator has 3 conv layers; widths={list(widths)} needs 3 values")
        layers: list[nn.Module] = []
        c_in = self.input_shape[0]
        for c_out in widths:  # 28 → 14 → 7 → 4
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(negative_slope)]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.build_head(c_in * 4 * 4)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)
