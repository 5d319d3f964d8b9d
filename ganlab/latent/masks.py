"""Inpainting masks of the course report (000, "GAN Q3"), as (N, 1, H, W) float tensors: 1 = observed pixel,
0 = missing ("blackened": ``apply_mask`` fills it with -1, black in [-1, 1] images). Random masks are
deterministic under their seed.

- ``pepper``: a fraction of the pixels (30 % by default) chosen at random, exactly round(fraction · H · W) each;
- ``crosswalk``: every second row (rows 1, 3, 5, … by default);
- ``square``: a random size × size patch (8 × 8 by default), fully inside the image;
- ``load_mask``: a user's mask file (.png, white = observed; .pt / .npy of 0/1 values).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ganlab.common.options import MASKS  # noqa: F401  (re-exported)


def pepper_mask(n: int, height: int, width: int, fraction: float = 0.3, seed: int = 0) -> Tensor:
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"pepper fraction={fraction} is invalid; accepted: a number in [0, 1]")
    generator = torch.Generator().manual_seed(seed)
    hidden = round(fraction * height * width)
    mask = torch.ones(n, height * width)
    for i in range(n):
        mask[i, torch.randperm(height * width, generator=generator)[:hidden]] = 0.0
    return mask.view(n, 1, height, width)


def crosswalk_mask(n: int, height: int, width: int, every: int = 2, offset: int = 1) -> Tensor:
    if every < 1 or not 0 <= offset < every:
        raise ValueError(
            f"crosswalk every={every}, offset={offset} is invalid; accepted: every >= 1, 0 <= offset < every"
        )
    mask = torch.ones(n, 1, height, width)
    mask[:, :, offset::every, :] = 0.0
    return mask


def square_mask(n: int, height: int, width: int, size: int = 8, seed: int = 0) -> Tensor:
    if not 1 <= size <= min(height, width):
        raise ValueError(
            f"square size={size} is invalid; accepted: 1 … {min(height, width)} for {height}×{width} images"
        )
    generator = torch.Generator().manual_seed(seed)
    tops = torch.randint(0, height - size + 1, (n,), generator=generator)
    lefts = torch.randint(0, width - size + 1, (n,), generator=generator)
    mask = torch.ones(n, 1, height, width)
    for i, (top, left) in enumerate(zip(tops.tolist(), lefts.tolist(), strict=True)):
        mask[i, :, top : top + size, left : left + size] = 0.0
    return mask


def make_mask(kind: str, n: int, height: int, width: int, seed: int = 0, **options) -> Tensor:
    """A mask by name (``MASKS``) with its options (``fraction``, ``every`` / ``offset``, ``size``)."""
    if kind == "pepper":
        return pepper_mask(n, height, width, seed=seed, **options)
    if kind == "crosswalk":
        return crosswalk_mask(n, height, width, **options)
    if kind == "square":
        return square_mask(n, height, width, seed=seed, **options)
    raise ValueError(f"mask={kind!r} is not known; accepted: {', '.join(MASKS)} or a mask file")


def apply_mask(images: Tensor, mask: Tensor, fill: float = -1.0) -> Tensor:
    """The images with their missing pixels set to ``fill`` (black)."""
    mask = mask.to(images.device, images.dtype)
    return images * mask + fill * (1.0 - mask)


def load_mask(path: str, shape: tuple[int, ...]) -> Tensor:
    """A user mask: .png (white = observed) or .pt / .npy of 0/1 values, H×W or 1×H×W; ValueError (one line)
    for a missing or unreadable file, another size, or a mask that observes no pixel."""
    accepted = "a .png (white = observed), .pt or .npy mask of the images' size"
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"mask_file={path} does not exist; accepted: {accepted}")
    try:
        mask = _read_mask(file)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise ValueError(f"mask_file={path} is not a readable mask ({reason}); accepted: {accepted}") from None
    size = tuple(int(v) for v in shape[-2:])
    if tuple(mask.shape[-2:]) != size or mask.numel() != size[0] * size[1]:
        raise ValueError(f"mask_file={path} is {tuple(mask.shape)}; accepted: a mask of the images' {size}")
    mask = (mask.reshape(1, 1, *shape[-2:]) > 0.5).float()
    if not mask.any():
        raise ValueError(f"mask_file={path} observes no pixel (all black / zero); accepted: {accepted}, not all zero")
    return mask


def _read_mask(file: Path) -> Tensor:
    if file.suffix == ".png":
        import numpy as np
        from PIL import Image

        with Image.open(file) as image:
            return torch.from_numpy(np.asarray(image.convert("L"), dtype=np.float32) / 255.0)
    if file.suffix == ".npy":
        import numpy as np

        return torch.from_numpy(np.load(file, allow_pickle=False)).float()
    mask = torch.load(file, map_location="cpu", weights_only=True)
    if not torch.is_tensor(mask):
        raise ValueError(f"holds a {type(mask).__name__}, not a tensor")
    return mask.float()
