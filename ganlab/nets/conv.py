"""Strided (transposed-)convolution pairs: the Princeton report's conv nets, DCGAN, the seed CelebA pair.

One class each for G and D; a YAML picks widths, activation and normalisation. Widths are given per
image size, so ``model/generator=dcgan`` adapts to ``data.image_size`` (28, 32 or 64) and any other size
is refused at start-up with the sizes the architecture supports.

G: z (as 1×1) → ConvT(k=s₀) → widths[0] @ s₀ → [ConvT(4, 2, 1) → norm → act] per further width
   → ConvT(4, 2, 1) → channels @ size → tanh;  s₀ = size / 2^len(widths) (4 for 32/64, 7 for 28).
D: [Conv(4, 2, 1) → norm → act (→ dropout)] per width → features (widths[-1] · s₀ · s₀)
   → head Linear → logit. The head is the tables' final "Conv k=s₀, pad 0" written as the Linear it equals.

The Princeton tables are garbled in places (rows that say "stride 1" while the activation size halves, a
"128×32×32" kernel); ganlab follows their activation sizes, which are consistent, with 4×4 stride-2 layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from ganlab.nets.base import Discriminator, Generator, require
from ganlab.nets.layers import activation as make_activation
from ganlab.nets.layers import norm2d


def widths_for(name: str, size: int, widths: Mapping[int, Sequence[int]]) -> tuple[list[int], int]:
    """(widths, start size) for an image size; ShapeError naming the supported sizes otherwise."""
    table = {int(k): list(v) for k, v in widths.items()}
    supported = ", ".join(str(s) for s in sorted(table))
    require(size in table, f"{name} has no layout for {size}×{size} images; supported image sizes: {supported}")
    chosen = table[size]
    start = size // 2 ** len(chosen)
    require(
        start * 2 ** len(chosen) == size and start >= 1,
        f"{name}: {len(chosen)} stride-2 layers cannot reach {size}×{size}; supported image sizes: {supported}",
    )
    return chosen, start


def square(shape: Sequence[int], name: str) -> tuple[int, int]:
    require(len(shape) == 3 and shape[1] == shape[2], f"{name} needs square images (C, H, H), got shape {list(shape)}")
    return shape[0], shape[1]


class ConvGenerator(Generator):
    def __init__(
        self,
        latent_dim: int,
        out_shape: Sequence[int],
        widths: Mapping[int, Sequence[int]],
        activation: str = "relu",
        norm: str = "batch",
        norm_first: bool = True,
        output_activation: str = "tanh",
        **conditioning,
    ):
        super().__init__(latent_dim, out_shape, **conditioning)
        channels, size = square(self.out_shape, type(self).__name__)
        chosen, start = widths_for(type(self).__name__, size, widths)
        layers: list[nn.Module] = [nn.ConvTranspose2d(self.input_dim, chosen[0], start, 1, 0, bias=False)]
        layers += [norm2d(norm if norm_first else "none", chosen[0]), make_activation(activation)]
        for c_in, c_out in zip(chosen, chosen[1:], strict=False):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=norm == "none")]
            layers += [norm2d(norm, c_out), make_activation(activation)]
        layers += [nn.ConvTranspose2d(chosen[-1], channels, 4, 2, 1), make_activation(output_activation)]
        self.net = nn.Sequential(*layers)

    def decode(self, h: Tensor) -> Tensor:
        return self.net(h[:, :, None, None])


class ConvDiscriminator(Discriminator):
    def __init__(
        self,
        in_shape: Sequence[int],
        widths: Mapping[int, Sequence[int]],
        activation: str = "leaky_relu",
        norm: str = "batch",
        norm_first: bool = False,
        dropout: float = 0.0,
        **options,
    ):
        super().__init__(in_shape, **options)
        _, size = square(self.in_shape, type(self).__name__)
        chosen, end = widths_for(type(self).__name__, size, widths)
        layers: list[nn.Module] = []
        c_in = self.input_shape[0]
        for i, c_out in enumerate(chosen):
            layer_norm = norm if (i > 0 or norm_first) else "none"
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=layer_norm == "none"), norm2d(layer_norm, c_out)]
            layers += [make_activation(activation)] + ([nn.Dropout(dropout)] if dropout > 0 else [])
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.build_head(c_in * end * end)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)
