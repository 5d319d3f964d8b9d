"""One LightningDataModule per dataset family, and the 2-D mixtures. Names load lazily (PEP 562): importing
``ganlab.data.mixtures`` (torch only) does not import Lightning through this package."""

from __future__ import annotations

import importlib

#: Each public name and the submodule that defines it.
WHERE = {
    "DatasetNotFoundError": "images",
    "DigitsDataModule": "images",
    "FashionMNISTDataModule": "images",
    "ImageDataModule": "images",
    "MNISTDataModule": "images",
    "CIFAR10DataModule": "rgb",
    "CelebADataModule": "rgb",
    "StackedMNIST": "stacked_mnist",
    "StackedMNISTDataModule": "stacked_mnist",
    "stacked_label": "stacked_mnist",
    "Toy2DDataModule": "toy2d",
    "Mixture": "mixtures",
    "grid_mixture": "mixtures",
    "ring_mixture": "mixtures",
}
__all__ = sorted(WHERE)


def __getattr__(name: str):
    if name not in WHERE:
        raise AttributeError(f"module 'ganlab.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ganlab.data.{WHERE[name]}"), name)
