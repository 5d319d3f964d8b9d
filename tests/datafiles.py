"""Image dataset files written in the real on-disk formats (for tests that must not download anything).

- MNIST / Fashion-MNIST: the four IDX files (optionally gzipped), ``<folder>/train-images-idx3-ubyte`` …
- CIFAR-10: the python-pickle release, ``<root>/cifar-10-batches-py/data_batch_1..5`` and ``test_batch``
- CelebA: a bare folder of 218 × 178 aligned-face JPEGs, e.g. ``<root>/img_align_celeba/000000.jpg``
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image

CIFAR10_BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
CELEBA_SIZE = (218, 178)  # height, width of img_align_celeba


def write_idx(folder: Path, n: int, seed: int = 0, gz: bool = False) -> np.ndarray:
    """The four IDX files of the MNIST format (big-endian magic 2051 images / 2049 labels); returns the images."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for prefix in ("train", "t10k"):
        payloads = {
            f"{prefix}-images-idx3-ubyte": struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes(),
            f"{prefix}-labels-idx1-ubyte": struct.pack(">II", 2049, n) + labels.tobytes(),
        }
        for name, data in payloads.items():
            if gz:
                with gzip.open(folder / f"{name}.gz", "wb") as f:
                    f.write(data)
            else:
                (folder / name).write_bytes(data)
    return images


def write_mnist(root: Path, n: int, seed: int = 0) -> Path:
    """MNIST as ``MNISTDataModule(root=root)`` reads it: ``root/MNIST/raw``; returns that folder."""
    raw = Path(root) / "MNIST" / "raw"
    write_idx(raw, n, seed=seed)
    return raw


def write_cifar10(root: Path, per_batch: int, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py`` with ``per_batch`` images in each of the six pickles (rows of 3 072 uint8,
    channel-major: R plane, G plane, B plane) and labels 0, 1, …, 9, 0, …; returns the folder."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in CIFAR10_BATCHES:
        batch = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), "labels": list(range(per_batch))}
        batch["labels"] = [i % 10 for i in batch["labels"]]
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    return folder


def write_celeba_jpegs(folder: Path, n: int, seed: int | None = None) -> Path:
    """``n`` 218 × 178 RGB JPEGs named 000000.jpg, … in ``folder``: flat grey levels 40·i (seed None) or noise."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed) if seed is not None else None
    for i in range(n):
        if rng is None:
            pixels = np.full((*CELEBA_SIZE, 3), (40 * i) % 256, dtype=np.uint8)
        else:
            pixels = rng.integers(0, 256, (*CELEBA_SIZE, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:06d}.jpg")
    return folder
