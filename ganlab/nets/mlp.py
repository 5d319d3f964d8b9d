"""Fully connected generator and discriminator.

Defaults reproduce Metz et al.'s 2-D setting (G: z=256 → 2×128 ReLU → 2). The same classes serve
flattened images for the Princeton report's MLP GAN (G 256-512-1024, D 1024-512-256 + dropout 0.3) and
the course report's D ``M3`` (the same D: 1 460 225 parameters on 28×28, as the report counts).

Options for PacGAN's synthetic protocol (Lin et al. 2018): ``norm=batch`` (Linear without bias → BatchNorm →
activation, its G) and ``activation=maxout`` with ``maxout_pieces`` (its D: LinearMaxout layers).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ganlab.nets.base import Discriminator, Generator, flat_size
from ganlab.nets.layers import activation as make_activation
from ganlab.nets.layers import mlp, mlp_body


class MLPGenerator(Generator):
    def __init__(
        self,
        latent_dim: int = 256,
        out_shape: Sequence[int] = (2,),
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
        output_activation: str = "identity",
        norm: str = "none",
        maxout_pieces: int = 5,
        **conditioning,
    ):
        super().__init__(latent_dim, out_shape, **conditioning)
        options = {"norm": norm, "maxout_pieces": maxout_pieces}
        self.net = mlp(self.input_dim, hidden, flat_size(self.out_shape), activation, **options)
        self.out_act = make_activation(output_activation)

    def decode(self, h: Tensor) -> Tensor:
        return self.out_act(self.net(h)).view(h.shape[0], *self.out_shape)


class MLPDiscriminator(Discriminator):
    """Returns one logit per sample (shape ``(B,)``)."""

    flat_input = True

    def __init__(
        self,
        in_shape: Sequence[int] = (2,),
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str = "none",
        maxout_pieces: int = 5,
        **options,
    ):
        super().__init__(in_shape, **options)
        in_dim = flat_size(self.input_shape) + self.input_extra
        body, width = mlp_body(in_dim, hidden, activation, dropout, norm=norm, maxout_pieces=maxout_pieces)
        self.body = nn.Sequential(nn.Flatten(), *body)
        self.build_head(width)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)
