"""What every architecture shares, so that a new architecture is only its layers.

``Generator``: ``forward(z, labels=None)``. With ``num_classes`` it is conditional: a learned
``num_classes × embed_dim`` embedding is concatenated to z (optionally projected, Princeton's CGAN-conv
110 → 220 + LeakyReLU) before the architecture's ``decode``.

``Discriminator``: ``forward(x, labels=None)`` → one logit per (packed) sample. The pipeline is

    pack m samples along channels (PacGAN)  →  [labels at the input]  →  features (B', F)
    →  [minibatch discrimination | minibatch-std]  →  [labels at the features]  →  head → logits (B',)

Subclasses build ``features`` for ``self.input_shape`` (channels already multiplied by the pack size and,
for flat inputs, ``self.input_extra`` label dimensions added) and report its output width.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from ganlab.nets.init import Initialised
from ganlab.nets.layers import MINIBATCH_LAYERS, activation


class ShapeError(ValueError):
    """An architecture cannot produce or read images of the requested shape."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)


@contextmanager
def eval_mode(net: nn.Module) -> Iterator[nn.Module]:
    """``net`` in eval mode for the block (BatchNorm on running statistics, no dropout), then back in its mode."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


class Generator(Initialised):
    def __init__(
        self,
        latent_dim: int,
        out_shape: Sequence[int],
        num_classes: int | None = None,
        embed_dim: int = 10,
        project_dim: int | None = None,
    ):
        super().__init__()
        self.latent_dim, self.out_shape = latent_dim, tuple(out_shape)
        self.num_classes = num_classes
        input_dim = latent_dim
        if num_classes:
            self.embed = nn.Embedding(num_classes, embed_dim)
            input_dim += embed_dim
        self.project = None
        if project_dim:
            self.project = nn.Sequential(nn.Linear(input_dim, project_dim), nn.LeakyReLU(0.2))
            input_dim = project_dim
        #: Width of the vector ``decode`` receives.
        self.input_dim = input_dim

    def decode(self, h: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.num_classes:
            if labels is None:
                raise ValueError("a conditional generator needs labels")
            z = torch.cat([z, self.embed(labels)], dim=1)
        if self.project is not None:
            z = self.project(z)
        return self.decode(z)


class Discriminator(Initialised):
    #: Flat-input architectures (MLPs) take labels as extra input features; image-input ones as extra
    #: constant channels.
    flat_input = False

    def __init__(
        self,
        in_shape: Sequence[int],
        num_classes: int | None = None,
        embed_dim: int = 10,
        condition: str = "input",
        head_hidden: int | None = None,
        pack: int = 1,
        minibatch: str = "none",
        minibatch_kernels: int = 100,
        minibatch_kernel_dim: int = 5,
        minibatch_group: int = 4,
    ):
        super().__init__()
        self.in_shape = tuple(in_shape)
        if condition not in ("input", "features"):
            raise ValueError(f"condition={condition!r} is invalid; accepted: input, features")
        if minibatch not in ("none", *MINIBATCH_LAYERS):
            raise ValueError(f"minibatch={minibatch!r} is invalid; accepted: none, {', '.join(MINIBATCH_LAYERS)}")
        if not (isinstance(pack, int) and pack >= 1):
            raise ValueError(f"pack={pack!r} is invalid; accepted: an integer >= 1")
        self.num_classes, self.condition, self.pack = num_classes, condition, pack
        self.minibatch = minibatch
        self._minibatch_kwargs = {
            "discrimination": {"kernels": minibatch_kernels, "kernel_dim": minibatch_kernel_dim},
            "std": {"group_size": minibatch_group},
        }.get(minibatch, {})
        self.head_hidden = head_hidden
        self.label_dim = embed_dim * pack if num_classes else 0
        if num_classes:
            self.embed = nn.Embedding(num_classes, embed_dim)
        channels, *spatial = self.in_shape
        self.input_shape = (channels * pack, *spatial)
        #: Label dimensions that ``features`` must accept on top of ``input_shape`` (flat input only).
        self.input_extra = self.label_dim if condition == "input" and self.flat_input else 0
        if condition == "input" and not self.flat_input and self.label_dim:
            self.input_shape = (self.input_shape[0] + self.label_dim, *spatial)

    def build_head(self, feature_dim: int) -> None:
        """Call at the end of a subclass ``__init__`` with the width of ``features``' output."""
        layer = MINIBATCH_LAYERS.get(self.minibatch)
        self.minibatch_layer = layer(feature_dim, **self._minibatch_kwargs) if layer else nn.Identity()
        width = self.minibatch_layer.out_features if layer else feature_dim
        width += self.label_dim if self.condition == "features" else 0
        if self.head_hidden:
            self.head = nn.Sequential(
                nn.Linear(width, self.head_hidden), activation("leaky_relu"), nn.Linear(self.head_hidden, 1)
            )
        else:
            self.head = nn.Linear(width, 1)

    def features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def joint_batches(self) -> bool:
        """Whether reals and fakes may be scored in one call on their concatenation, each sample's logit unchanged:
        no layer mixes samples (batch norm, minibatch layers), draws randomness (dropout) or changes state on every
        call (spectral norm's power iteration), and no labels travel with the samples."""
        if self.num_classes or self.minibatch != "none":
            return False
        per_call = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)
        return not any(isinstance(m, per_call) or parametrize.is_parametrized(m) for m in self.modules())

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        m = self.pack
        if m > 1:
            usable = x.shape[0] - x.shape[0] % m
            require(usable > 0, f"pack={m} needs batches of at least {m} samples, got {x.shape[0]}")
            x = x[:usable].reshape(usable // m, m * x.shape[1], *x.shape[2:])
            labels = labels[:usable] if labels is not None else None
        y = None
        if self.num_classes:
            if labels is None:
                raise ValueError("a conditional discriminator needs labels")
            y = self.embed(labels).reshape(x.shape[0], -1)  # a pack's embeddings side by side
        if y is not None and self.condition == "input":
            if self.flat_input:
                x = torch.cat([x.flatten(1), y], dim=1)
            else:
                x = torch.cat([x, y[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        h = self.minibatch_layer(self.features(x).flatten(1))
        if y is not None and self.condition == "features":
            h = torch.cat([h, y], dim=1)
        return self.head(h).squeeze(1)


def flat_size(shape: Sequence[int]) -> int:
    return math.prod(shape)
