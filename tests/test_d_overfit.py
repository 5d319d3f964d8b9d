"""D's overfitting signal (``metrics=[d_overfit]``): D's outputs on training vs test images. A D that memorised its
training images scores them apart from unseen ones; a D that generalises does not."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ganlab.metrics.d_overfit import discriminator_overfit


class Splits:
    """A datamodule stand-in: labelled 'train' and 'test' images, eval_dataloader as ImageDataModule's."""

    def __init__(self, train, test, one_split=False):
        self.splits, self.one_split = {"train": train, "test": test}, one_split

    def eval_dataloader(self, split, batch_size=500, limit=None, seed=0):
        images = self.splits[split][:limit]
        return DataLoader(TensorDataset(images, torch.arange(images.shape[0]) % 3), batch_size=batch_size)


class Memoriser(nn.Module):
    """+3 on an image it was trained on, −1 elsewhere; ``num_classes`` / ``pack`` as the nets have them."""

    def __init__(self, train, num_classes=None, pack=1):
        super().__init__()
        self.train_set, self.num_classes, self.pack = train.flatten(1), num_classes, pack
        self.seen_labels = []

    def forward(self, x, labels=None):
        if labels is not None:
            self.seen_labels.append(labels)
        known = (torch.cdist(x.flatten(1), self.train_set).min(1).values < 1e-6).float()
        out = 4 * known - 1
        return out.view(-1, self.pack).mean(1)  # a packing D scores each pack of m images once


def data(n=12):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 4, 4, generator=g), torch.randn(n, 1, 4, 4, generator=g)


def test_a_memorising_d_scores_training_images_apart_from_unseen_ones():
    train, test = data()
    out = discriminator_overfit(Memoriser(train), Splits(train, test), n_images=10, batch_size=4)
    assert out == {
        "d_logit_train": 3.0,
        "d_sign_train": 1.0,
        "d_logit_test": -1.0,
        "d_sign_test": -1.0,
        "d_logit_gap": 4.0,
    }


def test_a_generalising_d_shows_no_gap_and_is_left_in_its_mode():
    train, test = data()
    d = nn.Sequential(nn.Flatten(), nn.Linear(16, 1))
    d.train()
    out = discriminator_overfit(d, Splits(train, train.clone()), n_images=12)
    assert out["d_logit_gap"] == pytest.approx(0.0, abs=1e-6) and d.training


def test_conditional_d_gets_the_labels_and_packing_d_whole_packs():
    train, test = data(12)
    conditional = Memoriser(train, num_classes=3)
    discriminator_overfit(conditional, Splits(train, test), n_images=12, batch_size=5)
    assert torch.equal(torch.cat(conditional.seen_labels[:3]), torch.arange(12) % 3)
    packing = Memoriser(train, pack=2)
    out = discriminator_overfit(packing, Splits(train, test), n_images=11, batch_size=5)  # batches of 4; 11 → 10
    assert out["d_logit_train"] == 3.0 and out["d_logit_gap"] == 4.0


def test_one_split_data_reports_the_training_values_only():
    train, _ = data()
    out = discriminator_overfit(Memoriser(train), Splits(train, train, one_split=True), n_images=12)
    assert set(out) == {"d_logit_train", "d_sign_train"}


def test_a_d_trained_with_augmentation_is_also_scored_under_its_policy():
    """A memoriser of the training images no longer recognises them once translated (DiffAugment's policy): the
    unaugmented gap says "memorised", the gap under D's own policy shows what D sees in training."""
    from ganlab.augment import DiffAugment

    train, test = data()
    augment = DiffAugment("translation")
    out = discriminator_overfit(Memoriser(train), Splits(train, test), n_images=12, batch_size=4, augment=augment)
    assert out["d_logit_gap"] == 4.0  # unaugmented, as before
    assert {"d_logit_train_aug", "d_logit_test_aug", "d_logit_gap_aug", "d_sign_train_aug"} <= set(out)
    assert out["d_logit_train_aug"] < out["d_logit_train"]  # shifted training images are not recognised
    again = discriminator_overfit(Memoriser(train), Splits(train, test), n_images=12, batch_size=4, augment=augment)
    assert again == out  # the policy's draws are seeded


def test_the_callback_logs_the_gap_along_training_under_d_s_own_policy_too(tmp_path):
    """``+callbacks/d_overfit=default``: D's train/test logits and their gap every epoch and at the end (CSV and
    metrics.json), also under D's augmentation (``*_aug``), on MNIST-format files; D scores the subset it trains on."""
    import csv
    import json

    from datafiles import write_mnist
    from hydra import compose, initialize_config_dir

    from ganlab.common.errors import CONF_DIR
    from ganlab.composition.build import build

    write_mnist(tmp_path / "data", 64)
    overrides = ["experiment=mnist_dcgan", f"paths.data_root={tmp_path / 'data'}", f"paths.run_dir={tmp_path}",
                 "data.batch_size=8", "+data.train_size=16", "+data.subset_seed=3", "model.max_iterations=5",
                 "+loss/augment=bgc", "+callbacks/d_overfit=default", "callbacks.d_overfit.n_images=24",
                 "callbacks.diagnostics=null", "callbacks.sample_grid.n_samples=4", "logger=csv",
                 "trainer.enable_progress_bar=false"]  # fmt: skip
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    datamodule, module, trainer = build(cfg)
    trainer.fit(module, datamodule=datamodule)
    final = json.loads((tmp_path / "metrics.json").read_text())["d_overfit"]
    assert final["iteration"] == 5
    keys = ["d_logit_train", "d_logit_test", "d_logit_gap", "d_sign_train", "d_sign_test"]
    assert set(keys + [k + "_aug" for k in keys]) <= final.keys()
    assert final["d_logit_gap"] == pytest.approx(final["d_logit_train"] - final["d_logit_test"])
    d = module.discriminator.eval()
    train_images = torch.stack([datamodule.dataset[i][0] for i in range(16)])  # the 16-image subset, all of it
    assert final["d_logit_train"] == pytest.approx(d(train_images).mean().item(), abs=1e-5)
    rows = list(csv.DictReader(next(tmp_path.rglob("metrics.csv")).open()))
    logged = [r for r in rows if r.get("val/d_logit_gap")]
    assert len(logged) >= 2  # epochs end at iterations 2 and 4 (16 images, batch 8), and the end at 5
