"""The RGB image DataModules: CIFAR-10 (python pickles, read by ganlab so test-written files work; decoded once
into a uint8 tensor, ``ganlab/data/decoded.py``) and CelebA (torchvision's layout or a bare folder of JPEGs; centre
crop 178, then 64 × 64; decoded per image: 202 599 faces do not fit the decoded path's memory). Images in [-1, 1]."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets, transforms

from ganlab.data.decoded import DecodedImages
from ganlab.data.images import ImageDataModule


def read_cifar10(folder: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The python-pickle release of CIFAR-10 (``cifar-10-batches-py/data_batch_1..5``, ``test_batch``) as uint8
    images (N, 3, 32, 32) and labels."""
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    arrays, labels = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        arrays.append(np.asarray(batch["data"], dtype=np.uint8))
        labels += list(batch["labels"])
    images = torch.from_numpy(np.concatenate(arrays).reshape(-1, 3, 32, 32))
    return images, torch.tensor(labels, dtype=torch.long)


class CIFAR10DataModule(ImageDataModule):
    name = "cifar10"
    channels = 3
    native_size = 32

    def load(self, download):
        if download:  # torchvision fetches the archive, checks its md5 and extracts it
            datasets.CIFAR10(str(self.root), train=self.train, download=True)
        return DecodedImages(*read_cifar10(self.root / "cifar-10-batches-py", self.train), self.image_size)

    def missing_message(self) -> str:
        return (
            f"cifar10: missing {self.root / 'cifar-10-batches-py'} (data_batch_1..5, test_batch, batches.meta, "
            "from cifar-10-python.tar.gz)"
        )


class JPEGFolder(Dataset):
    """A bare folder of JPEG images (label 0), e.g. ``img_align_celeba/``."""

    def __init__(self, folder: Path, transform):
        self.paths = sorted(folder.glob("*.jpg"))
        if not self.paths:
            raise FileNotFoundError(f"no .jpg files in {folder}")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as img:
            return self.transform(img.convert("RGB")), 0


class CelebADataModule(ImageDataModule):
    """64 × 64 faces: centre crop 178 then resize. Accepts torchvision's layout (``root/celeba/`` with
    ``img_align_celeba/`` and the annotation files) or a bare ``img_align_celeba/`` folder of JPEGs."""

    name = "celeba"
    channels = 3
    native_size = 64
    num_classes = None  # no class labels (attributes only)

    def transform(self) -> transforms.Compose:
        return transforms.Compose(
            [
                transforms.CenterCrop(178),
                transforms.Resize(self.image_size),
                transforms.ToTensor(),
                transforms.Normalize([0.5] * 3, [0.5] * 3),
            ]
        )

    def load(self, download):
        split = "train" if self.train else "test"
        try:  # torchvision's layout, md5-checked annotations
            return datasets.CelebA(
                str(self.root), split=split, target_type="attr", download=download, transform=self.transform()
            )
        except RuntimeError:
            if download:
                raise
        for folder in (self.root / "celeba" / "img_align_celeba", self.root / "img_align_celeba"):
            if folder.is_dir():
                return JPEGFolder(folder, self.transform())
        raise FileNotFoundError(self.missing_message())

    def missing_message(self) -> str:
        return (
            f"celeba: missing {self.root / 'celeba'} (img_align_celeba/ + list_eval_partition.txt, "
            f"list_attr_celeba.txt, …) or a bare folder {self.root / 'img_align_celeba'} of JPEGs"
        )
