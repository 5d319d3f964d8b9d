"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"; reference code:
mit-han-lab/data-efficient-gans, ``DiffAugment_pytorch.py``): the same random, differentiable transforms applied to
everything D sees — reals and fakes, in D's step and in G's — so G is trained through them.

Policies, with the reference's parameters, on NCHW images in [-1, 1]:

- ``color``: brightness x + (r − 0.5); saturation (x − mean_c)·2r + mean_c (mean over channels: the identity on
  one-channel images); contrast (x − mean)·(r + 0.5) + mean (mean over C, H, W); r ~ U[0, 1) per sample and op.
- ``translation``: an integer shift per sample and axis in [−s, s], s = round(0.125·size), zero padding.
- ``cutout``: a square of side round(0.5·size) zeroed per sample, centred anywhere in the image (so it is clipped at
  the borders, as in the reference).

``probability`` p (not in the reference; ADA's ``p``, Karras et al. 2020): each sample gets each op group with
probability p, independently; a sample left out goes through untouched.

Every draw comes from the ``generator`` passed to ``forward`` (the run's checkpointed noise RNG: exact resume), on
the images' device, and the same number of draws is taken whatever p is. Written here rather than taken from kornia:
kornia's augmentations sample their parameters through ``torch.distributions`` (``kornia/augmentation/utils``:
``dist.rsample(shape)``), which takes no ``generator``, and no kornia augmentation or container accepts one: they
draw from torch's global RNG only, which would break the exact resume from the run's own RNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganlab.common.options import AUGMENT_POLICIES

#: The op groups a policy may name, in the reference's names.
POLICIES = AUGMENT_POLICIES
DEFAULT_POLICY = "color,translation,cutout"
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_policy(policy: str | Sequence[str]) -> tuple[str, ...]:
    """``"color,cutout"`` (or ``["color", "cutout"]``) → ``("color", "cutout")``; ValueError on anything else."""
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = [str(n).strip() for n in names]
    if not names or not all(n in POLICIES for n in names):
        raise ValueError(f"DiffAugment: policy={policy!r}; accepted: a comma list of {', '.join(POLICIES)}")
    return tuple(names)


def _uniform(x: Tensor, generator: torch.Generator | None) -> Tensor:
    """One U[0, 1) number per sample, shaped to broadcast over C, H, W."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def color(x: Tensor, generator: torch.Generator | None) -> Tensor:
    x = x + (_uniform(x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (2.0 * _uniform(x, generator)) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def _round(size: int, ratio: float) -> int:
    return int(size * ratio + 0.5)


def shift(x: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """out[i, :, h, w] = x[i, :, h + rows[i], w + cols[i]], zero where that falls outside the image."""
    n, c, height, width = x.shape
    h = torch.arange(height, device=x.device).view(1, height, 1) + rows.view(n, 1, 1)
    w = torch.arange(width, device=x.device).view(1, 1, width) + cols.view(n, 1, 1)
    inside = (h >= 0) & (h < height) & (w >= 0) & (w < width)  # (n, H, W)
    index = (h.clamp(0, height - 1) * width + w.clamp(0, width - 1)).view(n, 1, height * width)
    moved = x.reshape(n, c, height * width).gather(2, index.expand(n, c, height * width)).view_as(x)
    return torch.where(inside.unsqueeze(1), moved, torch.zeros((), dtype=x.dtype, device=x.device))


def translation(x: Tensor, generator: torch.Generator | None, ratio: float = TRANSLATION_RATIO) -> Tensor:
    n, _, height, width = x.shape
    s_h, s_w = _round(height, ratio), _round(width, ratio)
    rows = torch.randint(-s_h, s_h + 1, (n,), generator=generator, device=x.device)
    cols = torch.randint(-s_w, s_w + 1, (n,), generator=generator, device=x.device)
    return shift(x, rows, cols)


def cutout(x: Tensor, generator: torch.Generator | None, ratio: float = CUTOUT_RATIO) -> Tensor:
    n, _, height, width = x.shape
    c_h, c_w = _round(height, ratio), _round(width, ratio)
    # the square's centre, as in the reference: anywhere in [0, size] (size − 1 for an odd side)
    top = torch.randint(0, height + 1 - c_h % 2, (n, 1, 1), generator=generator, device=x.device) - c_h // 2
    left = torch.randint(0, width + 1 - c_w % 2, (n, 1, 1), generator=generator, device=x.device) - c_w // 2
    h = torch.arange(height, device=x.device).view(1, height, 1)
    w = torch.arange(width, device=x.device).view(1, 1, width)
    cut = (h >= top) & (h < top + c_h) & (w >= left) & (w < left + c_w)  # (n, H, W)
    return torch.where(cut.unsqueeze(1), torch.zeros((), dtype=x.dtype, device=x.device), x)


OPS = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment(nn.Module):
    """``forward(x, generator)``: the policy's op groups in order, each applied to a sample with ``probability``."""

    #: it transforms images (NCHW): the preflight refuses it on 2-D point data
    augments_images = True

    def __init__(self, policy: str | Sequence[str] = DEFAULT_POLICY, probability: float = 1.0):
        super().__init__()
        self.policy = parse_policy(policy)
        if isinstance(probability, bool) or not 0.0 <= probability <= 1.0:
            raise ValueError(f"DiffAugment: probability={probability}; accepted: a number in [0, 1]")
        self.probability = float(probability)

    def current_probability(self) -> float | Tensor:
        """The probability each sample gets each op group (AdaptiveAugment: its adapted ``p``)."""
        return self.probability

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"DiffAugment augments NCHW images; got a tensor of shape {list(x.shape)}")
        p = self.current_probability()
        for name in self.policy:
            chosen = torch.rand(x.shape[0], generator=generator, device=x.device) < p
            x = torch.where(chosen.view(-1, 1, 1, 1), OPS[name](x, generator), x)
        return x

    def extra_repr(self) -> str:
        return f"policy={','.join(self.policy)!r}, probability={self.probability}"
