"""Real MNIST from ``../shared/data`` (linked file by file into a temporary root, never unpacked in place) and a
domain classifier trained on it through the real ``ganlab-train experiment=classifier_mnist`` (short run)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "MNIST" / "raw"
MNIST_GZ = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
HAVE_MNIST = all((SHARED_MNIST / gz).is_file() for gz in MNIST_GZ)
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=f"real MNIST .gz files not in {SHARED_MNIST}")


def link_mnist(root: Path) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for gz in MNIST_GZ:
        if not (raw / gz).exists():
            (raw / gz).symlink_to(SHARED_MNIST / gz)
    return root
