"""Image DataModules: the shared base (splits, evaluation loaders, offline errors), MNIST, Fashion-MNIST and
scikit-learn's digits (CIFAR-10 and CelebA: ``ganlab/data/rgb.py``).

Every image is a float tensor in [-1, 1] (the generators' tanh range): ``ToTensor`` then
``Normalize(0.5, 0.5)`` per channel. Files live under ``root`` (default ``data/``, or ``$GANLAB_DATA_DIR``).
With ``download=True`` a missing dataset is downloaded; when that is impossible (offline) the error names
the files and where they must be.
"""

from __future__ import annotations

import copy
import gzip
import os
import shutil
import socket
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset
from torchdata.stateful_dataloader import StatefulDataLoader
from torchvision import datasets, transforms

from ganlab.common.errors import ConfigError
from ganlab.data.decoded import DecodedImages
from ganlab.data.sampling import EpochBatchSampler
from ganlab.data.shapes import check_declared_shape

DOWNLOAD_TIMEOUT_S = 30
SPLITS = ("train", "test")


class DatasetNotFoundError(ConfigError, FileNotFoundError):
    """A dataset's files are missing and could not be downloaded; the message says what to put where (a user's
    mistake like a bad setting: one line, exit code 2)."""


def default_root() -> Path:
    return Path(os.environ.get("GANLAB_DATA_DIR", "data"))


class ImageDataModule(pl.LightningDataModule):
    """Base class: subclasses say how to build the torch Dataset (``load``) and what files it needs."""

    #: True when the dataset has one split (``train`` and ``test`` are the same images)
    one_split = False

    name = "images"
    channels = 1
    native_size = 28
    num_classes = 10
    #: Which trained domain classifier judges this data's images (``extractor=classifier``; None: none fits).
    classifier_domain: str | None = None
    #: Whether each channel is a separate image of ``classifier_domain`` (Stacked-MNIST).
    classify_per_channel = False
    #: What ``val/mode_kl`` compares the generated class histogram with: the real labels' (``data``) or ``uniform``.
    mode_reference = "data"

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        batch_size: int = 64,
        image_size: int | None = None,
        download: bool = True,
        num_workers: int = 0,
        seed: int = 0,
        train: bool = True,
        shape: list[int] | None = None,
        train_fraction: float = 1.0,
        train_size: int | None = None,
        subset_seed: int = 0,
    ):
        """``train_fraction``: train on that share of the split only, or ``train_size``: on that many images (a
        fixed subset drawn with ``subset_seed``: by default the same for every run and seed; ``subset_seed=${seed}``
        gives each seed its own; data-efficiency and few-shot experiments, ``+data.train_fraction=0.1``,
        ``+data.train_size=100``)."""
        super().__init__()
        self.root = Path(root) if root is not None else default_root()
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed
        self.image_size = image_size or self.native_size
        self.download, self.train = download, train
        if (
            isinstance(train_fraction, bool)
            or not isinstance(train_fraction, int | float)
            or not 0 < train_fraction <= 1
        ):
            raise ValueError(f"data.train_fraction={train_fraction!r} is invalid; accepted: a number in (0, 1]")
        self.train_fraction = float(train_fraction)
        bad_size = isinstance(train_size, bool) or not isinstance(train_size, int) or train_size < 1
        if train_size is not None and bad_size:
            raise ValueError(f"data.train_size={train_size!r} is invalid; accepted: an integer >= 1, or null")
        if train_size is not None and self.train_fraction < 1:
            raise ValueError(
                f"data.train_size={train_size} with data.train_fraction={train_fraction}; accepted: one of the two"
            )
        if isinstance(subset_seed, bool) or not isinstance(subset_seed, int) or subset_seed < 0:
            raise ValueError(f"data.subset_seed={subset_seed!r} is invalid; accepted: an integer >= 0")
        self.train_size, self.subset_seed = train_size, subset_seed
        self.dataset: Dataset | None = None
        check_declared_shape(self, shape)

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    def transform(self) -> transforms.Compose:
        steps = [] if self.image_size == self.native_size else [transforms.Resize(self.image_size)]
        return transforms.Compose(
            [*steps, transforms.ToTensor(), transforms.Normalize([0.5] * self.channels, [0.5] * self.channels)]
        )

    def load(self, download: bool) -> Dataset:
        raise NotImplementedError

    def missing_message(self) -> str:
        raise NotImplementedError

    def _load_or_explain(self) -> Dataset:
        try:
            return self.load(download=False)
        except (RuntimeError, FileNotFoundError, OSError):
            if not self.download:
                raise DatasetNotFoundError(f"{self.missing_message()} (download=false)") from None
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        try:
            return self.load(download=True)
        except Exception as exc:  # offline, mirror down, checksum mismatch…
            reason = " ".join(str(exc).split())[:200]
            raise DatasetNotFoundError(f"{self.missing_message()}; download failed: {reason}") from None
        finally:
            socket.setdefaulttimeout(previous)

    def prepare_data(self) -> None:
        self._load_or_explain()

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is None:
            self.dataset = self.fraction_of(self._load_or_explain())

    def fraction_of(self, dataset: Dataset) -> Dataset:
        """The training subset (``train_fraction`` or ``train_size``), drawn with ``subset_seed``."""
        if self.train_size is None and self.train_fraction >= 1.0:
            return dataset
        n = self.train_size if self.train_size is not None else max(1, round(self.train_fraction * len(dataset)))
        if n > len(dataset):
            raise ConfigError(f"data.train_size={n} is invalid; accepted: at most the split's {len(dataset)} images")
        if n < self.batch_size:  # batches are full ones only: an epoch would hold none
            raise ConfigError(
                f"data.train_size={n} is smaller than data.batch_size={self.batch_size} (no full batch to train "
                f"on); accepted: a training subset of at least {self.batch_size} images"
            )
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.subset_seed))
        return Subset(dataset, order[:n].sort().values.tolist())

    def split_dataset(self, split: str) -> Dataset:
        """The ``train`` or ``test`` split, whichever this module trains on (datasets with one split, such as
        digits, return it for both)."""
        if split not in SPLITS:
            raise ValueError(f"split={split!r} is invalid; accepted: {', '.join(SPLITS)}")
        if (split == "train") == self.train:
            self.setup()
            return self.dataset
        other = copy.copy(self)
        other.train, other.dataset = split == "train", None
        return other._load_or_explain()

    def eval_dataloader(self, split: str, batch_size: int = 500, limit: int | None = None, seed: int = 0) -> DataLoader:
        """Unshuffled batches of a split; with ``limit``, a fixed random subset of that many images (``seed``).
        Iterating it leaves the global RNG alone (the loader's base seed comes from its own generator), so callbacks
        may read evaluation data mid-training without changing the run."""
        dataset = self.split_dataset(split)
        if limit is not None and limit < len(dataset):
            order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
            dataset = Subset(dataset, order[:limit])
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            generator=torch.Generator().manual_seed(seed),
        )

    def eval_batch(self, split: str, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """(images, targets) of ``eval_dataloader(split, limit=n, seed=seed)`` in one batch (the whole split when it
        holds fewer than ``n``)."""
        images, targets = next(iter(self.eval_dataloader(split, batch_size=max(n, 1), limit=n, seed=seed)))
        return images, targets

    def train_dataloader(self) -> StatefulDataLoader:
        self.setup()
        return StatefulDataLoader(
            self.dataset,
            batch_sampler=EpochBatchSampler(len(self.dataset), self.batch_size, seed=self.seed),
            num_workers=self.num_workers,
            generator=torch.Generator().manual_seed(self.seed + 1),  # workers' seeds only (no global RNG draw)
        )


class MNISTDataModule(ImageDataModule):
    name = "mnist"
    classifier_domain = "mnist"
    folder = "MNIST"
    files = (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )
    dataset_class = datasets.MNIST

    def load(self, download):
        """torchvision reads (and downloads) the idx files into a uint8 tensor; the images stay decoded."""
        if not download:
            self.unpack(self.root / self.folder / "raw")
        raw = self.dataset_class(str(self.root), train=self.train, download=download)
        return DecodedImages(raw.data.unsqueeze(1), raw.targets, self.image_size)

    def unpack(self, source: Path) -> None:
        """Gunzip ``<file>.gz`` from ``source`` into ``<root>/<folder>/raw`` where the unpacked file is missing
        (torchvision only unpacks inside its download step)."""
        raw = self.root / self.folder / "raw"
        for gz in self.files:
            target = raw / gz.removesuffix(".gz")
            if (source / gz).is_file() and not target.exists():
                raw.mkdir(parents=True, exist_ok=True)
                with gzip.open(source / gz, "rb") as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)

    def missing_message(self) -> str:
        return f"{self.name}: files missing in {self.root / self.folder / 'raw'}: need {', '.join(self.files)}"


class FashionMNISTDataModule(MNISTDataModule):
    """Also picks up Debian's ``dataset-fashion-mnist`` package (/usr/share/datasets/fashion-mnist); Debian
    recompressed the files, so their md5s differ from torchvision's list: ganlab unpacks them itself."""

    name = "fashion_mnist"
    classifier_domain = "fashion_mnist"
    folder = "FashionMNIST"
    dataset_class = datasets.FashionMNIST
    debian_dir = Path("/usr/share/datasets/fashion-mnist")

    def load(self, download):
        if not download and self.debian_dir.is_dir():
            self.unpack(self.debian_dir)
        return super().load(download)

    def missing_message(self) -> str:
        return (
            f"{super().missing_message()} (offline: `apt-get install dataset-fashion-mnist` provides them in "
            f"{self.debian_dir}, which ganlab imports automatically)"
        )


class DigitsDataModule(ImageDataModule):
    """scikit-learn's bundled 8 × 8 handwritten digits (1 797 real images), upsampled to 28 × 28: image GANs
    offline with zero downloads. One split ("train" and "test" are the same 1 797 images) unless ``holdout`` sets a
    fixed share of them apart as the test split (the digits classifier's held-out accuracy)."""

    name = "digits"
    classifier_domain = "digits"  # 8 × 8 scans upsampled: not MNIST's domain; experiment=classifier_digits
    #: the seed of the ``holdout`` split: fixed, so every run and seed holds out the same images
    HOLDOUT_SEED = 0

    def __init__(self, *args, holdout: float = 0.0, **kwargs):
        if isinstance(holdout, bool) or not isinstance(holdout, int | float) or not 0 <= holdout < 1:
            raise ValueError(f"data.holdout={holdout!r} is invalid; accepted: a number in [0, 1)")
        super().__init__(*args, **kwargs)
        self.holdout = float(holdout)
        self.one_split = self.holdout == 0.0  # "train" and "test" are the same images

    def load(self, download):
        from sklearn.datasets import load_digits

        data = load_digits()
        images = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [0, 1]
        images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        dataset = TensorDataset(images.clamp(0, 1) * 2 - 1, torch.tensor(data.target))
        if self.one_split:
            return dataset
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.HOLDOUT_SEED))
        n_test = round(self.holdout * len(dataset))
        part = order[n_test:] if self.train else order[:n_test]
        return Subset(dataset, part.sort().values.tolist())

    def missing_message(self) -> str:  # bundled with scikit-learn: never missing
        return "digits: scikit-learn is not installed"
