"""Building blocks shared by the architectures: activations, normalisations, minibatch statistics layers."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": lambda: nn.ELU(),
    "tanh": lambda: nn.Tanh(),
    "sigmoid": lambda: nn.Sigmoid(),
    "identity": lambda: nn.Identity(),
}

NORMS = {
    "batch": lambda c: nn.BatchNorm2d(c),
    "instance": lambda c: nn.InstanceNorm2d(c, affine=True),
    "layer": lambda c: nn.GroupNorm(1, c),  # LayerNorm over (C, H, W): the WGAN-GP critic's choice
    "none": lambda c: nn.Identity(),
}


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; accepted: {', '.join(ACTIVATIONS)}") from None


def norm2d(name: str, channels: int) -> nn.Module:
    try:
        return NORMS[name](channels)
    except KeyError:
        raise ValueError(f"unknown norm {name!r}; accepted: {', '.join(NORMS)}") from None


NORMS_1D = {
    "batch": lambda n: nn.BatchNorm1d(n),
    "layer": lambda n: nn.LayerNorm(n),
    "none": lambda n: nn.Identity(),
}


def norm1d(name: str, features: int) -> nn.Module:
    try:
        return NORMS_1D[name](features)
    except KeyError:
        raise ValueError(f"unknown norm {name!r}; accepted: {', '.join(NORMS_1D)}") from None


class Maxout(nn.Module):
    """Goodfellow et al. (2013): ``out_features`` units, each the maximum of ``pieces`` linear pieces (blocks'
    ``LinearMaxout``, the PacGAN discriminator's layer): Linear(in, out · pieces) → view (B, out, pieces) → max."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 5):
        super().__init__()
        if not (isinstance(pieces, int) and pieces >= 2):
            raise ValueError(f"maxout_pieces={pieces!r} is invalid; accepted: an integer >= 2")
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(x.shape[0], self.out_features, self.pieces).amax(-1)


def mlp_body(
    in_dim: int,
    hidden: Sequence[int],
    act: str,
    dropout: float = 0.0,
    norm: str = "none",
    maxout_pieces: int = 5,
) -> tuple[nn.Sequential, int]:
    """Per hidden width: Linear → norm → activation (→ dropout); returns the layers and their output width.
    ``act="maxout"`` makes each hidden layer a ``Maxout`` of ``maxout_pieces`` pieces instead of Linear →
    activation. A normalised Linear → activation layer has no bias (the norm's shift replaces it); a Maxout keeps
    its pieces' biases (a bias per piece is not redundant before the max)."""
    layers: list[nn.Module] = []
    for width in hidden:
        normed = [] if norm == "none" else [norm1d(norm, width)]
        if act == "maxout":
            layers += [Maxout(in_dim, width, maxout_pieces), *normed]
        else:
            layers += [nn.Linear(in_dim, width, bias=not normed), *normed, activation(act)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = width
    return nn.Sequential(*layers), in_dim


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, act: str, dropout: float = 0.0, **options) -> nn.Sequential:
    """``mlp_body`` then a final Linear to ``out_dim``; ``options``: mlp_body's norm and maxout_pieces."""
    body, width = mlp_body(in_dim, hidden, act, dropout, **options)
    return nn.Sequential(*body, nn.Linear(width, out_dim))


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. (2016), §3.2: features f (B, A) → M = f·T reshaped (B, kernels, kernel_dim);
    o(x_i)_b = Σ_{j≠i} exp(−‖M_{i,b} − M_{j,b}‖₁), appended to f. Output width A + kernels."""

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)
        self.out_features = in_features + kernels

    def forward(self, f: Tensor) -> Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.kernel_dim)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(-1)  # (B, B, kernels)
        o = torch.exp(-l1).sum(1) - 1.0  # drop the j = i term (exp(0) = 1)
        return torch.cat([f, o], dim=1)


class MinibatchStd(nn.Module):
    """Karras et al. (2018): the standard deviation of every feature over a group of samples, averaged
    to one scalar per group and appended to each member's features. ``group_size=0`` uses the whole batch;
    a batch that the group size does not divide falls back to the whole batch."""

    def __init__(self, in_features: int, group_size: int = 4):
        super().__init__()
        self.group_size = group_size
        self.out_features = in_features + 1

    def forward(self, f: Tensor) -> Tensor:
        b = f.shape[0]
        g = self.group_size if 0 < self.group_size <= b and b % self.group_size == 0 else b
        grouped = f.view(g, b // g, -1)  # sample i belongs to group i % (b // g)
        std = (grouped.var(0, unbiased=False) + 1e-8).sqrt().mean(-1)  # (b // g,)
        return torch.cat([f, std.repeat(g).unsqueeze(1)], dim=1)


MINIBATCH_LAYERS = {"discrimination": MinibatchDiscrimination, "std": MinibatchStd}
