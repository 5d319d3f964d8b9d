"""Images decoded once into one uint8 tensor (N, C, H, W) and batched by indexing (issue #20).

torchvision's MNIST / CIFAR datasets turn every image into a PIL image and run ``ToTensor`` + ``Normalize`` on it
one by one (≈ 18 ms per batch of 100 MNIST images on one core); here a batch is one gather and one affine map on
the whole batch (``__getitems__``, which ``DataLoader`` / ``StatefulDataLoader`` and ``Subset`` call when present).
The values are bit-identical to the per-image path: ``ToTensor`` is ``uint8 → float32 / 255`` and
``Normalize(0.5, 0.5)`` is ``(x − 0.5) / 0.5``, the same float32 operations in the same order; a resize to another
``image_size`` is done once, by the same PIL ``Resize``, before the images are stored. Samples, their order (the
batch sampler is unchanged) and exact resume are as before.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision import transforms


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 images → float32 in [-1, 1], as ``ToTensor`` then ``Normalize(0.5, 0.5)`` compute it per image."""
    return images.to(torch.float32).div(255).sub(0.5).div(0.5)


def resized(images: Tensor, size: int | None) -> Tensor:
    """(N, C, H, W) uint8 images through PIL's ``Resize(size)`` (as the per-image transform did), once."""
    if size is None or size == images.shape[-1] == images.shape[-2]:
        return images
    resize = transforms.Resize(size)
    out = []
    for image in images.permute(0, 2, 3, 1).numpy():  # H, W, C for PIL
        pil = Image.fromarray(image[..., 0], mode="L") if image.shape[-1] == 1 else Image.fromarray(image)
        array = np.asarray(resize(pil))
        out.append(torch.from_numpy(array.reshape(*array.shape[:2], -1).copy()))
    return torch.stack(out).permute(0, 3, 1, 2).contiguous()


class DecodedImages(Dataset):
    """(image in [-1, 1], label) pairs from a uint8 tensor; ``__getitems__`` scales a whole batch at once."""

    def __init__(self, images: Tensor, labels: Tensor, image_size: int | None = None):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"DecodedImages: need uint8 images (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"DecodedImages: {images.shape[0]} images but {labels.shape[0]} labels")
        self.images = resized(images, image_size)
        self.labels = labels.to(torch.long)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return to_unit_range(self.images[i]), int(self.labels[i])

    def batch(self, indices) -> tuple[Tensor, Tensor]:
        """(images (B, C, H, W) in [-1, 1], labels (B,)) of ``indices``."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return to_unit_range(self.images[index]), self.labels[index]

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, int]]:
        images, labels = self.batch(indices)
        return list(zip(images.unbind(0), labels.tolist(), strict=True))  # default_collate stacks them again
