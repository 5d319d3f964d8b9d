"""One LightningDataModule per dataset family."""

from ganlab.data.images import (
    DatasetNotFoundError,
    DigitsDataModule,
    FashionMNISTDataModule,
    ImageDataModule,
    MNISTDataModule,
)
from ganlab.data.rgb import CelebADataModule, CIFAR10DataModule
from ganlab.data.stacked_mnist import StackedMNIST, StackedMNISTDataModule, stacked_label
from ganlab.data.toy2d import Mixture, Toy2DDataModule, grid_mixture, ring_mixture

__all__ = [
    "CIFAR10DataModule",
    "CelebADataModule",
    "DatasetNotFoundError",
    "DigitsDataModule",
    "FashionMNISTDataModule",
    "ImageDataModule",
    "MNISTDataModule",
    "Mixture",
    "StackedMNIST",
    "StackedMNISTDataModule",
    "Toy2DDataModule",
    "grid_mixture",
    "ring_mixture",
    "stacked_label",
]
