"""Fully connected generator and discriminator.

Defaults reproduce Metz et al.'s 2-D setting (G: z=256 → 2×128 ReLU → 2). The same classes serve
flattened images (``out_shape=(1, 28, 28)``) for the Princeton report's MLP GAN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": lambda: nn.Tanh(),
    "elu": lambda: nn.ELU(),
    "identity": lambda: nn.Identity(),
}


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; accepted: {', '.join(ACTIVATIONS)}") from None


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, act: str, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), activation(act)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int = 256,
        out_shape: Sequence[int] = (2,),
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
        output_activation: str = "identity",
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = tuple(out_shape)
        self.net = mlp(latent_dim, hidden, math.prod(self.out_shape), activation)
        self.out_act = globals()["activation"](output_activation)

    def forward(self, z: Tensor) -> Tensor:
        return self.out_act(self.net(z)).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """Returns one logit per sample (shape ``(B,)``)."""

    def __init__(
        self,
        in_shape: Sequence[int] = (2,),
        hidden: Sequence[int] = (128, 128),
        activation: str = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.net = mlp(math.prod(self.in_shape), hidden, 1, activation, dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)
