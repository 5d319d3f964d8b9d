"""Images decoded once into a uint8 tensor (issue #20): every batch is bit-identical to the per-image path it
replaced (torchvision's dataset → PIL → ``Resize`` → ``ToTensor`` → ``Normalize``), in the same order, for MNIST
(and at another size), Fashion-MNIST's format, CIFAR-10's pickles and Stacked-MNIST; a batch is one gather."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datafiles import write_cifar10, write_idx, write_mnist
from PIL import Image
from realdata import link_mnist, needs_mnist
from torch.utils.data import Subset
from torchvision import datasets

from ganlab.data import CIFAR10DataModule, MNISTDataModule
from ganlab.data.decoded import DecodedImages, to_unit_range
from ganlab.data.stacked_mnist import StackedMNISTDataModule


def per_image_mnist(dm: MNISTDataModule):
    """The path ganlab used before: torchvision's MNIST with the module's per-image transform."""
    return datasets.MNIST(str(dm.root), train=dm.train, download=False, transform=dm.transform())


def batches(dm, n: int):
    loader = iter(dm.train_dataloader())
    return [next(loader) for _ in range(n)]


@pytest.mark.parametrize("image_size", [28, 32, 20])
def test_mnist_batches_are_bit_identical_to_the_per_image_transform(tmp_path, image_size):
    write_idx(tmp_path / "MNIST" / "raw", 50, seed=image_size)
    dm = MNISTDataModule(root=tmp_path, batch_size=16, image_size=image_size, download=False, seed=3)
    dm.setup()
    assert isinstance(dm.dataset, DecodedImages) and dm.dataset.images.dtype == torch.uint8
    reference = per_image_mnist(dm)
    order = list(dm.train_dataloader().batch_sampler)[:3]
    for (x, y), indices in zip(batches(dm, 3), order, strict=True):
        expected = torch.stack([reference[i][0] for i in indices])
        assert x.shape == (16, 1, image_size, image_size) and x.dtype == torch.float32
        assert torch.equal(x, expected)  # bit for bit, resize included
        assert torch.equal(y, torch.tensor([reference[i][1] for i in indices]))
        assert y.dtype == torch.int64


@needs_mnist
def test_real_mnist_decoded_equals_the_per_image_path(tmp_path):
    link_mnist(tmp_path)
    dm = MNISTDataModule(root=tmp_path, batch_size=100, download=False)
    dm.setup()
    reference = per_image_mnist(dm)
    picks = torch.randperm(60_000, generator=torch.Generator().manual_seed(0))[:300].tolist()
    x, y = dm.dataset.batch(picks)
    assert torch.equal(x, torch.stack([reference[i][0] for i in picks]))
    assert y.tolist() == [reference[i][1] for i in picks]


def test_cifar10_batches_are_bit_identical_to_pil_to_tensor(tmp_path):
    folder = write_cifar10(tmp_path, per_batch=6)
    dm = CIFAR10DataModule(root=tmp_path, batch_size=5, download=False)
    dm.setup()
    transform = dm.transform()
    import pickle

    rows = []
    for i in range(1, 6):
        with open(folder / f"data_batch_{i}", "rb") as f:
            rows.append(np.asarray(pickle.load(f, encoding="latin1")["data"], dtype=np.uint8))
    hwc = np.concatenate(rows).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    x, _ = dm.dataset.batch(list(range(30)))
    assert torch.equal(x, torch.stack([transform(Image.fromarray(image)) for image in hwc]))


def test_stacked_mnist_batches_equal_its_per_sample_composition(tmp_path):
    write_mnist(tmp_path, 30)
    stacked = StackedMNISTDataModule(root=tmp_path, download=False, length=40, stack_seed=3, batch_size=8)
    stacked.setup()
    (x, y), indices = batches(stacked, 1)[0], next(iter(stacked.train_dataloader().batch_sampler))
    samples = [stacked.dataset[i] for i in indices]  # __getitem__: three digits, one by one
    assert torch.equal(x, torch.stack([image for image, _ in samples]))
    assert y.tolist() == [label for _, label in samples]


def test_subsets_and_single_items_go_through_the_same_scaling(tmp_path):
    images = torch.randint(0, 256, (10, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    data = DecodedImages(images, torch.arange(10))
    subset = Subset(data, [7, 2, 5])
    assert [label for _, label in subset.__getitems__([0, 2])] == [7, 5]
    x, label = data[3]
    assert torch.equal(x, to_unit_range(images[3])) and label == 3
    assert to_unit_range(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]


def test_bad_tensors_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        DecodedImages(torch.zeros(2, 1, 4, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        DecodedImages(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3))
