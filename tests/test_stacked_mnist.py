"""Stacked-MNIST: three MNIST digits as R, G, B with the 1 000-way label, on IDX files written here and on real
MNIST when ../shared/data has it."""

import pytest
import torch
from datafiles import write_mnist
from hydra import compose, initialize_config_dir
from realdata import link_mnist, needs_mnist

import ganlab.composition.build  # noqa: F401  (registers the schemas conf/ composes with)
from ganlab.common.errors import CONF_DIR
from ganlab.composition.fit import check_networks_fit_data
from ganlab.data import MNISTDataModule, StackedMNISTDataModule, stacked_label


def test_stacked_label_is_base_ten_over_channels():
    assert stacked_label(torch.tensor([[0, 0, 0], [1, 2, 3], [9, 9, 9], [0, 7, 0]])).tolist() == [0, 123, 999, 70]


def test_channels_are_the_indexed_digits_and_the_label_composes_them(tmp_path):
    write_mnist(tmp_path, 30)
    digits = MNISTDataModule(root=tmp_path, download=False)
    digits.setup()
    stacked = StackedMNISTDataModule(root=tmp_path, download=False, length=50, stack_seed=3)
    stacked.setup()
    assert len(stacked.dataset) == 50 and stacked.sample_shape == (3, 28, 28)
    for i in (0, 17, 49):
        image, label = stacked.dataset[i]
        parts = [digits.dataset[int(j)] for j in stacked.dataset.index[i]]
        assert image.shape == (3, 28, 28) and image.min() >= -1 and image.max() <= 1
        for channel, (x, _) in enumerate(parts):
            torch.testing.assert_close(image[channel], x[0])
        assert label == 100 * int(parts[0][1]) + 10 * int(parts[1][1]) + int(parts[2][1])


def test_stack_seed_fixes_the_dataset_and_the_run_seed_does_not_change_it(tmp_path):
    write_mnist(tmp_path, 30)

    def index(**kw):
        dm = StackedMNISTDataModule(root=tmp_path, download=False, length=40, **kw)
        dm.setup()
        return dm.dataset.index

    assert torch.equal(index(stack_seed=0, seed=1), index(stack_seed=0, seed=2))
    assert not torch.equal(index(stack_seed=0), index(stack_seed=1))


def test_missing_mnist_names_the_mnist_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"stacked_mnist: files missing in .*MNIST/raw: need train-images"):
        StackedMNISTDataModule(root=tmp_path, download=False).setup()


def test_config_composes_with_a_three_channel_dcgan():
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=mnist_dcgan", "data=stacked_mnist", "paths.data_root=/none"])
    assert list(cfg.data.shape) == [3, 28, 28]
    check_networks_fit_data(cfg)  # raises ConfigError if the nets do not fit 3 × 28 × 28


@needs_mnist
def test_real_stacked_mnist_covers_nearly_all_1000_modes(tmp_path):
    link_mnist(tmp_path)  # links to the .gz files only: unpacked here, never in shared/
    dm = StackedMNISTDataModule(root=tmp_path, download=False, length=5000)
    dm.setup()
    labels = torch.tensor([dm.dataset[i][1] for i in range(5000)])
    # 5 000 uniform draws over 1 000 modes miss each with probability (1 − 1/1000)^5000 ≈ 0.7 %: ≈ 993 seen
    assert 980 <= labels.unique().numel() <= 1000 and labels.max() < 1000
