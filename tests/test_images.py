"""Image DataModules on files written here in the real formats, and on real MNIST when ../shared/data has it."""

import pickle

import pytest
import torch
from datafiles import write_celeba_jpegs, write_cifar10, write_idx
from realdata import link_mnist, needs_mnist

from ganlab.data import (
    CelebADataModule,
    CIFAR10DataModule,
    DatasetNotFoundError,
    DigitsDataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
)

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def first_batch(dm):
    dm.setup()
    return next(iter(dm.train_dataloader()))


def assert_unit_range(x: torch.Tensor):
    assert x.dtype == torch.float32 and x.min() >= -1.0 and x.max() <= 1.0


@needs_mnist
def test_real_mnist_is_normalised_to_minus_one_one(tmp_path):
    link_mnist(tmp_path)  # links to the .gz files only: unpacked here, never in shared/
    dm = MNISTDataModule(root=tmp_path, batch_size=500, download=False)
    dm.setup()
    assert len(dm.dataset) == 60_000
    loader = iter(dm.train_dataloader())
    x = torch.cat([next(loader)[0] for _ in range(8)])  # 4 000 images
    assert x.shape[1:] == (1, 28, 28)
    assert x.min() == -1.0 and x.max() == 1.0
    # MNIST's pixel mean is 0.1307 in [0, 1], i.e. 2 · 0.1307 - 1 = -0.739 in [-1, 1]
    assert x.mean().item() == pytest.approx(-0.739, abs=0.01)


def test_mnist_format_files_load_with_exact_values(tmp_path):
    images = write_idx(tmp_path / "MNIST" / "raw", 40)
    x, y = first_batch(MNISTDataModule(root=tmp_path, batch_size=40, download=False))
    assert x.shape == (40, 1, 28, 28) and y.shape == (40,)
    expected = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 255 * 2 - 1
    assert sorted(x.sum(dim=(1, 2, 3)).tolist()) == pytest.approx(
        sorted(expected.sum(dim=(1, 2, 3)).tolist()), rel=1e-5
    )


def test_resize_to_32(tmp_path):
    write_idx(tmp_path / "MNIST" / "raw", 8)
    x, _ = first_batch(MNISTDataModule(root=tmp_path, batch_size=8, image_size=32, download=False))
    assert x.shape == (8, 1, 32, 32)
    assert_unit_range(x)


def test_fashion_mnist_imports_the_debian_package_layout(tmp_path, monkeypatch):
    debian = tmp_path / "debian"
    write_idx(debian, 16, gz=True)  # Debian ships the four .gz files (recompressed)
    monkeypatch.setattr(FashionMNISTDataModule, "debian_dir", debian)
    x, _ = first_batch(FashionMNISTDataModule(root=tmp_path / "root", batch_size=16, download=False))
    assert x.shape == (16, 1, 28, 28)
    assert_unit_range(x)
    assert (tmp_path / "root" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def test_missing_files_offline_give_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr(FashionMNISTDataModule, "debian_dir", tmp_path / "no-debian")
    for dm, words in (
        (MNISTDataModule(root=tmp_path, download=False), ["MNIST", "train-images-idx3-ubyte.gz", str(tmp_path)]),
        (FashionMNISTDataModule(root=tmp_path, download=False), ["dataset-fashion-mnist", "FashionMNIST"]),
        (CIFAR10DataModule(root=tmp_path, download=False), ["cifar-10-batches-py", "data_batch_1"]),
        (CelebADataModule(root=tmp_path, download=False), ["img_align_celeba", "list_eval_partition.txt"]),
    ):
        with pytest.raises(DatasetNotFoundError) as info:
            dm.setup()
        message = str(info.value)
        assert "\n" not in message
        for word in words:
            assert word in message


def test_download_failure_offline_is_one_line(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Name or service not known\nTried a mirror")

    monkeypatch.setattr(MNISTDataModule, "load", lambda self, download: offline() if download else offline())
    with pytest.raises(DatasetNotFoundError, match="download failed: Name or service not known Tried a mirror"):
        MNISTDataModule(root=tmp_path, download=True).setup()


def test_cifar10_python_pickles(tmp_path):
    folder = write_cifar10(tmp_path, per_batch=4)
    with open(folder / "data_batch_1", "rb") as f:
        first = pickle.load(f)["data"][0]
    dm = CIFAR10DataModule(root=tmp_path, batch_size=4, download=False)
    dm.setup()
    assert len(dm.dataset) == 20
    x, label = dm.dataset[0]
    assert x.shape == (3, 32, 32) and label == 0
    # channel-major rows of 1 024 values: R plane, then G, then B
    expected = torch.tensor(first.reshape(3, 32, 32), dtype=torch.float32) / 255 * 2 - 1
    torch.testing.assert_close(x, expected)
    assert len(CIFAR10DataModule(root=tmp_path, train=False, download=False).load(download=False)) == 4


@pytest.mark.parametrize("layout", ["celeba/img_align_celeba", "img_align_celeba"])
def test_celeba_jpeg_folders_are_cropped_to_64(tmp_path, layout):
    write_celeba_jpegs(tmp_path / layout, 3)
    x, _ = first_batch(CelebADataModule(root=tmp_path, batch_size=3, download=False))
    assert x.shape == (3, 3, 64, 64)
    assert_unit_range(x)


def test_digits_are_real_offline_images_at_28(tmp_path):
    dm = DigitsDataModule(root=tmp_path, batch_size=100)
    dm.setup()
    assert len(dm.dataset) == 1797
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (100, 1, 28, 28) and set(y.tolist()) <= set(range(10))
    assert x.min() == -1.0 and x.max() > 0.9  # background at -1, ink near +1
    assert dm.sample_shape == (1, 28, 28)


def test_digits_holdout_sets_a_fixed_test_split_apart():
    """``classifier_digits`` (issue #31) measures its accuracy on images it never trained on: ``holdout`` splits the
    1 797 digits into disjoint train / test parts, the same for every seed; without it both are all 1 797."""
    whole = DigitsDataModule()
    assert whole.one_split and len(whole.split_dataset("test")) == len(whole.split_dataset("train")) == 1797
    parts = {}
    for seed in (0, 5):
        dm = DigitsDataModule(holdout=0.2, seed=seed)
        train, test = dm.split_dataset("train"), dm.split_dataset("test")
        assert not dm.one_split and (len(train), len(test)) == (1438, 359)
        assert not set(train.indices) & set(test.indices)
        parts[seed] = (train.indices, test.indices)
    assert parts[0] == parts[5]  # the run's seed does not move the split
    with pytest.raises(ValueError, match=r"data.holdout=1 is invalid; accepted: a number in \[0, 1\)"):
        DigitsDataModule(holdout=1)


def test_the_digits_classifier_preset_writes_the_file_the_digits_metrics_load(tmp_path):
    """``experiment=classifier_digits`` (one short epoch here) exports ``digits.pt``, which ``extractor=classifier``
    finds for data=digits: the offline presets can be scored offline."""
    from clirun import run_in_process

    from ganlab.metrics.extractors import classifier_file

    result = run_in_process("ganlab-train", ["experiment=classifier_digits", "trainer.max_epochs=1",
                                             "callbacks.export.min_accuracy=null", "trainer.enable_progress_bar=false"],
                            tmp_path, GANLAB_CLASSIFIER_DIR=str(tmp_path / "classifiers"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout
    assert classifier_file(DigitsDataModule(), tmp_path / "classifiers") == tmp_path / "classifiers" / "digits.pt"


def test_train_fraction_trains_on_a_fixed_subset():
    """Issue #19's data-efficiency runs: ``train_fraction`` keeps a share of the training split, the same images
    for every run seed, and the training batches come from it only."""
    from ganlab.data import DigitsDataModule

    full = DigitsDataModule()
    full.setup()
    tenth = [DigitsDataModule(train_fraction=0.1, seed=s) for s in (0, 7)]
    for dm in tenth:
        dm.setup()
    assert len(tenth[0].dataset) == len(tenth[1].dataset) == round(0.1 * len(full.dataset)) == 180
    assert tenth[0].dataset.indices == tenth[1].dataset.indices  # independent of the run's seed
    subset = torch.stack([full.dataset[i][0] for i in tenth[0].dataset.indices])
    batch = next(iter(tenth[1].train_dataloader()))[0]
    # every training image is one of the subset's
    assert all((subset - image).abs().flatten(1).amax(1).min() == 0 for image in batch)
    with pytest.raises(ValueError, match=r"data.train_fraction=0 is invalid; accepted: a number in \(0, 1\]"):
        DigitsDataModule(train_fraction=0)


def test_train_size_keeps_that_many_images_and_subset_seed_picks_them():
    """Issue #34's few-shot runs: ``train_size`` keeps that many training images; ``subset_seed`` draws which (the
    default 0 gives ``train_fraction``'s subset; ``subset_seed=${seed}`` one subset per run seed); the batches come
    from the subset only, also when it is smaller than a batch."""
    from ganlab.common.errors import ConfigError
    from ganlab.data import DigitsDataModule

    fraction = DigitsDataModule(train_fraction=0.1)
    same = DigitsDataModule(train_size=180)
    other = DigitsDataModule(train_size=180, subset_seed=3)
    for dm in (fraction, same, other):
        dm.setup()
    assert same.dataset.indices == fraction.dataset.indices and len(other.dataset) == 180
    assert other.dataset.indices != same.dataset.indices
    few = DigitsDataModule(train_size=20, subset_seed=3, batch_size=8)
    few.setup()
    allowed = {tuple(few.dataset[i][0].flatten().tolist()) for i in range(20)}
    batches = list(few.train_dataloader())
    assert len(batches) == 2 and all(tuple(x.flatten().tolist()) in allowed for b in batches for x in b[0])
    with pytest.raises(ConfigError, match="data.train_size=20 is smaller than data.batch_size=64"):
        DigitsDataModule(train_size=20, batch_size=64).setup()  # an epoch would hold no batch
    for bad, message in [(0, "an integer >= 1, or null"), (2.5, "an integer >= 1, or null")]:
        with pytest.raises(ValueError, match=f"data.train_size={bad!r} is invalid; accepted: {message}"):
            DigitsDataModule(train_size=bad)
    with pytest.raises(ValueError, match="accepted: one of the two"):
        DigitsDataModule(train_size=10, train_fraction=0.5)
    with pytest.raises(ValueError, match="data.subset_seed=-1 is invalid"):
        DigitsDataModule(subset_seed=-1)
    too_many = DigitsDataModule(train_size=5000)
    with pytest.raises(ConfigError, match="data.train_size=5000 is invalid; accepted: at most the split's 1797"):
        too_many.setup()
