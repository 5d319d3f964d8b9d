"""ADA's ``bgc`` pipeline (Karras et al. 2020, StyleGAN2-ADA; reference code: NVlabs/stylegan2-ada-pytorch,
``training/augment.py``, ``AugmentPipe`` with ``augpipe_specs['bgc']``): the geometric ("bg") and colour ("c")
transforms ADA applies to everything D sees, each with probability p × its multiplier (all multipliers 1 in
``bgc``), on NCHW images in [-1, 1], differentiable in the images.

Geometric, composed into one inverse affine map per sample (pixel coordinates about the image centre), in the
reference's order and with its parameters: x-flip (i ∈ {0, 1}), rotation by i · 90° (i ∈ {0…3}), integer translation
(uniform in ±0.125 of the size, rounded to pixels), isotropic scaling 2^N(0, 0.2²), rotation U(−180°, 180°) before
and after the anisotropic scaling (each with probability 1 − √(1 − p), so that "some rotation" has probability p),
anisotropic scaling 2^N(0, 0.2²) on x and its inverse on y, fractional translation N(0, 0.125²) of the size. One
``grid_sample`` (bilinear, reflection padding) applies the map. The reference pads by reflection to the transformed
corners, upsamples 2× with a Symlet-6 filter before resampling and downsamples after (anti-aliasing); this pipeline
resamples the image directly, which blurs rotated and scaled samples slightly more.

Colour, composed into one 4 × 4 affine colour map per sample: brightness + N(0, 0.2²), contrast × 2^N(0, 0.5²), luma
flip (a reflection through the plane ⟂ the luma axis (1, 1, 1)/√3, i ∈ {0, 1}), hue rotation U(−180°, 180°) about
the luma axis, saturation 2^N(0, 1) (scaling ⟂ the luma axis). One-channel images get the map's mean row, as the
reference does.

Every random number comes from the ``generator`` passed in (the run's checkpointed noise RNG: exact resume), and the
same number is drawn whatever p is. ``sample`` returns the per-sample parameters and which ops were applied (the
tests check each op's frequency against p × multiplier).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: augment.py's defaults for the ``bgc`` ops.
XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD = 0.2, 0.5, 1.0, 1.0
#: the probability multipliers of ``bgc`` (all 1): op → multiplier
MULTIPLIERS = {op: 1.0 for op in ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
                                  "brightness", "contrast", "lumaflip", "hue", "saturation")}  # fmt: skip
GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOUR = ("brightness", "contrast", "lumaflip", "hue", "saturation")


def _eye(n: int, size: int, like: Tensor) -> Tensor:
    return torch.eye(size, device=like.device, dtype=like.dtype).expand(n, size, size).clone()


def _matrix(rows: list[list], like: Tensor) -> Tensor:
    """A batch of matrices from rows of per-sample tensors / numbers."""
    n = like.shape[0]
    return torch.stack([torch.stack([torch.as_tensor(v, dtype=like.dtype, device=like.device).expand(n)
                                     for v in row], dim=-1) for row in rows], dim=-2)  # fmt: skip


def translate2d(tx: Tensor, ty: Tensor) -> Tensor:
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], tx)


def scale2d(sx: Tensor, sy: Tensor) -> Tensor:
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], sx)


def rotate2d(theta: Tensor) -> Tensor:
    return _matrix([[theta.cos(), -theta.sin(), 0], [theta.sin(), theta.cos(), 0], [0, 0, 1]], theta)


def translate3d(t: Tensor) -> Tensor:
    return _matrix([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]], t)


def scale3d(s: Tensor) -> Tensor:
    return _matrix([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]], s)


def rotate3d(axis: Tensor, theta: Tensor) -> Tensor:
    """Rotation by ``theta`` about the unit ``axis`` (Rodrigues), as a 4 × 4 affine map."""
    vx, vy, vz = axis.tolist()
    s, c = theta.sin(), theta.cos()
    cc = 1 - c
    return _matrix([
        [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
        [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
        [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
        [0, 0, 0, 1],
    ], theta)  # fmt: skip


class _Draws:
    """The per-sample random numbers of one batch, from ``generator``, and which ops were applied."""

    def __init__(self, n: int, p, generator, device, dtype):
        self.n, self.generator, self.device, self.dtype = n, generator, device, dtype
        self.p = torch.as_tensor(p, device=device, dtype=dtype)
        self.applied: dict[str, Tensor] = {}

    def rand(self, *shape) -> Tensor:
        return torch.rand(self.n, *shape, generator=self.generator, device=self.device, dtype=self.dtype)

    def randn(self, *shape) -> Tensor:
        return torch.randn(self.n, *shape, generator=self.generator, device=self.device, dtype=self.dtype)

    def gated(self, op: str, value: Tensor, identity: float) -> Tensor:
        """``value`` where the op is drawn (probability p × its multiplier), ``identity`` elsewhere (the value is
        drawn first, then the mask, as the reference does)."""
        mask = self.rand() < self.p * MULTIPLIERS[op]
        self.applied[op] = mask
        return torch.where(mask.view(-1, *[1] * (value.dim() - 1)), value, torch.full_like(value, identity))

    def rotation(self, p_rot: Tensor) -> tuple[Tensor, Tensor]:
        """An angle U(−π, π) · ROTATE_MAX where drawn with probability ``p_rot`` (0 elsewhere), and the mask."""
        theta = (self.rand() * 2 - 1) * math.pi * ROTATE_MAX
        mask = self.rand() < p_rot
        return torch.where(mask, theta, torch.zeros_like(theta)), mask


def _geometric(d: _Draws, height: int, width: int) -> Tensor:
    """The inverse geometric maps (n, 3, 3), pixel coordinates about the centre."""
    g_inv = _eye(d.n, 3, d.p)
    i = d.gated("xflip", torch.floor(d.rand() * 2), 0.0)
    g_inv = g_inv @ scale2d(1 - 2 * i, torch.ones_like(i))
    i = d.gated("rotate90", torch.floor(d.rand() * 4), 0.0)
    g_inv = g_inv @ rotate2d(-math.pi / 2 * i)
    t = d.gated("xint", d.rand(2) * 2 - 1, 0.0)
    g_inv = g_inv @ translate2d(torch.round(t[:, 0] * XINT_MAX * width), torch.round(t[:, 1] * XINT_MAX * height))
    s = d.gated("scale", torch.exp2(d.randn() * SCALE_STD), 1.0)
    g_inv = g_inv @ scale2d(1 / s, 1 / s)
    p_rot = 1 - torch.sqrt((1 - d.p * MULTIPLIERS["rotate"]).clamp(0, 1))  # pre and post: "some rotation" w.p. p
    theta, pre = d.rotation(p_rot)
    g_inv = g_inv @ rotate2d(-theta)
    s = d.gated("aniso", torch.exp2(d.randn() * ANISO_STD), 1.0)
    g_inv = g_inv @ scale2d(1 / s, s)
    theta, post = d.rotation(p_rot)
    g_inv = g_inv @ rotate2d(-theta)
    d.applied["rotate"] = pre | post
    t = d.gated("xfrac", d.randn(2) * XFRAC_STD, 0.0)
    return g_inv @ translate2d(t[:, 0] * width, t[:, 1] * height)


def _colour(d: _Draws) -> Tensor:
    """The colour maps (n, 4, 4) on (r, g, b, 1)."""
    eye = _eye(d.n, 4, d.p)
    luma = torch.tensor([1.0, 1.0, 1.0], device=d.device, dtype=d.dtype) / math.sqrt(3)
    v = torch.cat([luma, torch.zeros(1, device=d.device, dtype=d.dtype)])
    c = translate3d(d.gated("brightness", d.randn() * BRIGHTNESS_STD, 0.0)) @ eye
    c = scale3d(d.gated("contrast", torch.exp2(d.randn() * CONTRAST_STD), 1.0)) @ c
    i = d.gated("lumaflip", torch.floor(d.rand() * 2), 0.0)
    c = (eye - 2 * torch.outer(v, v) * i.view(d.n, 1, 1)) @ c
    c = rotate3d(luma, d.gated("hue", (d.rand() * 2 - 1) * math.pi * HUE_MAX, 0.0)) @ c
    s = d.gated("saturation", torch.exp2(d.randn() * SATURATION_STD), 1.0)
    return (torch.outer(v, v) + (eye - torch.outer(v, v)) * s.view(d.n, 1, 1)) @ c


def sample(n: int, height: int, width: int, p: float | Tensor, generator, device, dtype=torch.float32):
    """(inverse geometric maps (n, 3, 3) in pixel coordinates about the centre, colour maps (n, 4, 4), {op: applied
    mask (n,)}). Draws the same numbers whatever ``p`` is."""
    draws = _Draws(n, p, generator, device, dtype)
    g_inv = _geometric(draws, height, width)
    return g_inv, _colour(draws), draws.applied


def apply_geometric(x: Tensor, g_inv: Tensor) -> Tensor:
    """Resample ``x`` at ``g_inv`` × (output pixel), pixel coordinates about the centre (bilinear, reflection)."""
    n, _, height, width = x.shape
    to_unit = scale2d(torch.full((n,), 2.0 / width, dtype=x.dtype, device=x.device),
                      torch.full((n,), 2.0 / height, dtype=x.dtype, device=x.device))  # fmt: skip
    theta = (to_unit @ g_inv.to(x.dtype) @ torch.linalg.inv(to_unit))[:, :2, :]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def apply_colour(x: Tensor, c: Tensor) -> Tensor:
    n, channels, height, width = x.shape
    c = c.to(x.dtype)
    flat = x.reshape(n, channels, height * width)
    if channels == 3:
        flat = c[:, :3, :3] @ flat + c[:, :3, 3:]
    elif channels == 1:
        c = c[:, :3, :].mean(dim=1, keepdim=True)
        flat = flat * c[:, :, :3].sum(dim=2, keepdim=True) + c[:, :, 3:]
    else:
        raise ValueError(f"ADA's colour transforms need 1 or 3 channels, got {channels}")
    return flat.reshape(n, channels, height, width)


def bgc(x: Tensor, p: float | Tensor, generator=None) -> Tensor:
    """ADA's ``bgc`` augmentation of the NCHW batch ``x`` with probability ``p`` (each op: p × its multiplier)."""
    g_inv, c, applied = sample(x.shape[0], x.shape[2], x.shape[3], p, generator, x.device)
    geometric = torch.stack([applied[op] for op in GEOMETRIC]).any(0)
    colour = torch.stack([applied[op] for op in COLOUR]).any(0)
    if bool(geometric.any()):  # a host sync; p = 0 (ADA's start) then costs nothing
        x = torch.where(geometric.view(-1, 1, 1, 1), apply_geometric(x, g_inv), x)
    if bool(colour.any()):
        x = torch.where(colour.view(-1, 1, 1, 1), apply_colour(x, c), x)
    return x


class BgcAugment(nn.Module):
    """ADA's ``bgc`` ops with a fixed probability (StyleGAN2-ADA's ``--aug=fixed --p=…``, the setting of the paper's
    leak experiments, Fig. 3): ``forward(x, generator)`` applies each op with ``probability`` × its multiplier."""

    #: it transforms images (NCHW): the preflight refuses it on 2-D point data
    augments_images = True

    def __init__(self, probability: float = 0.6):
        super().__init__()
        if isinstance(probability, bool) or not 0.0 <= probability <= 1.0:
            raise ValueError(f"BgcAugment: probability={probability}; accepted: a number in [0, 1]")
        self.probability = float(probability)

    def current_probability(self) -> float:
        return self.probability

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"ADA's bgc augments NCHW images; got a tensor of shape {list(x.shape)}")
        return bgc(x, self.probability, generator)

    def extra_repr(self) -> str:
        return f"pipeline=bgc, probability={self.probability}"
