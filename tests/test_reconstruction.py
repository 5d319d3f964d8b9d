"""G's reconstruction error on training vs test images (issue #19, lecture 001's overfitting signal)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlab.metrics.reconstruction import reconstruction_errors


class Images:
    """A datamodule stand-in: fixed 'train' and 'test' images."""

    def __init__(self, train, test, one_split=False):
        self.splits, self.one_split = {"train": train, "test": test}, one_split

    def eval_batch(self, split, n, seed=0):
        return self.splits[split][:n], None


def memoriser(train: torch.Tensor) -> nn.Module:
    """G(z) = Σ z_i · x_i: its range is exactly the span of the training images."""
    g = nn.Linear(train.shape[0], train[0].numel(), bias=False)
    with torch.no_grad():
        g.weight.copy_(train.flatten(1).T)
    return nn.Sequential(g, nn.Unflatten(1, train.shape[1:]))


def test_a_memorising_generator_shows_a_gap():
    g = torch.Generator().manual_seed(0)
    train = torch.randn(4, 1, 4, 4, generator=g).clamp(-1, 1)
    test = torch.randn(4, 1, 4, 4, generator=g).clamp(-1, 1)
    out = reconstruction_errors(memoriser(train), Images(train, test), latent_dim=4, n_images=4, iterations=400)
    assert out["reconstruction_mse_train"] < 1e-3  # training images are in G's range
    assert out["reconstruction_mse_test"] > 0.1  # unseen ones are not
    assert out["reconstruction_gap"] == pytest.approx(out["reconstruction_mse_test"] - out["reconstruction_mse_train"])


def test_one_split_data_reports_one_number_and_g_is_left_as_it_was():
    train = torch.zeros(3, 1, 2, 2)
    g = memoriser(torch.eye(4).view(4, 1, 2, 2)[:3])
    g.train()
    out = reconstruction_errors(g, Images(train, train, one_split=True), latent_dim=3, n_images=3, iterations=50)
    assert set(out) == {"reconstruction_mse"} and out["reconstruction_mse"] < 1e-2
    assert g.training and all(p.requires_grad for p in g.parameters())
