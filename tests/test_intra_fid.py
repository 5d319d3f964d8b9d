"""Intra-class FID (issue #19): a conditional sampler that follows its label scores near 0 per class; one that
ignores its label scores badly, although both draw the same overall distribution."""

from __future__ import annotations

import pytest
import torch

from ganlab.metrics.intra_fid import intra_fid

CLASSES, D = 3, 4
CENTRES = torch.tensor([[4.0, 0, 0, 0], [0, 4.0, 0, 0], [0, 0, 4.0, 0]])


class Identity(torch.nn.Module):
    """Features = the 'image' itself (1 × 2 × 2 pixels → 4 numbers)."""

    num_features, num_classes = D, CLASSES

    def forward(self, images):
        flat = images.flatten(1).double()
        return flat, flat[:, :CLASSES]


def real_batches(n_per_class: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(CLASSES).repeat_interleave(n_per_class)
    images = (CENTRES[labels] + 0.5 * torch.randn(labels.shape[0], D, generator=g)).view(-1, 1, 2, 2)
    return [(images[i : i + 100], labels[i : i + 100]) for i in range(0, labels.shape[0], 100)]


def follows_label(z, labels):
    return (CENTRES[labels] + 0.5 * z[:, :D]).view(-1, 1, 2, 2)


def ignores_label(z, labels):
    shuffled = torch.arange(z.shape[0]) % CLASSES  # every class in turn, whatever was asked
    return follows_label(z, shuffled)


def test_intra_fid_separates_a_label_following_from_a_label_ignoring_generator():
    args = (Identity(), real_batches(400), None, D, CLASSES, 400)
    good = intra_fid(*args[:2], follows_label, *args[3:])
    bad = intra_fid(*args[:2], ignores_label, *args[3:])
    assert good["intra_fid_n_real"] == [400, 400, 400]
    assert len(good["intra_fid_per_class"]) == CLASSES
    assert good["intra_fid"] < 0.2  # same distribution per class: sampling noise only
    assert bad["intra_fid"] > 10.0  # each class's fakes are a mixture of all three centres
    assert good["intra_fid"] == pytest.approx(sum(good["intra_fid_per_class"]) / CLASSES)


def test_a_class_missing_from_the_real_split_is_refused():
    batches = [(images[labels != 2], labels[labels != 2]) for images, labels in real_batches(50)]
    with pytest.raises(ValueError, match=r"classes \[2\]"):
        intra_fid(Identity(), batches, follows_label, D, CLASSES, 10)
