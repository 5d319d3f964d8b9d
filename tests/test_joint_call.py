"""One D call on cat([real, fake]) where D's logits do not depend on the rest of the batch (issue #20): the same
logits and loss as two calls, one call fewer per D loss (the D step and every look-ahead step), and never for a D
with batch norm, dropout, minibatch layers, spectral norm or labels, nor with an augmentation."""

from __future__ import annotations

import pytest
import torch
from netconfigs import build

from ganlab.augment import DiffAugment
from ganlab.losses import GANLoss, Hinge, NonSaturating
from ganlab.nets import MLPDiscriminator

SHAPE = (2,)


def counted(d):
    calls = []

    def d_fn(x):
        calls.append(x.shape[0])
        return d(x)

    return d_fn, calls


@pytest.mark.parametrize("objective", [NonSaturating(), Hinge()])
@pytest.mark.parametrize("pack", [1, 2])
def test_a_joint_call_gives_the_two_calls_logits_and_loss(objective, pack):
    torch.manual_seed(0)
    d = MLPDiscriminator(in_shape=SHAPE, hidden=(16, 16), activation="leaky_relu", pack=pack)
    assert d.joint_batches
    real, fake = torch.randn(12, 2), torch.randn(12, 2)
    separate, joint = GANLoss(objective), GANLoss(objective)
    joint.joint = True
    d_fn, calls = counted(d)
    a = separate.discriminator(d_fn, real, fake)
    b = joint.discriminator(d_fn, real, fake)
    assert calls == [12, 12, 24]
    torch.testing.assert_close(b.real_logits, a.real_logits, rtol=0, atol=1e-6)
    torch.testing.assert_close(b.fake_logits, a.fake_logits, rtol=0, atol=1e-6)
    assert b.real_logits.shape == (12 // pack,) and torch.allclose(b.total, a.total, atol=1e-6)


def test_an_augmentation_keeps_two_calls():
    d = MLPDiscriminator(in_shape=(1, 8, 8), hidden=(8,), activation="relu")
    loss = GANLoss(NonSaturating(), augment=DiffAugment("translation"))
    loss.joint = True
    loss.start(0, torch.Generator().manual_seed(0))
    d_fn, calls = counted(d)
    loss.discriminator(d_fn, torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8))
    assert calls == [4, 4]  # the augmentation's draws stay per call, as before


@pytest.mark.parametrize(
    ("kind", "name", "shape", "options", "joint"),
    [
        ("discriminator", "mlp", (2,), {"dropout": 0.0}, True),
        ("discriminator", "mlp", (2,), {"dropout": 0.0, "pack": 4}, True),
        ("discriminator", "mlp", (2,), {}, False),  # the Princeton MLP's dropout 0.3
        ("discriminator", "dcgan", (1, 28, 28), {}, False),  # batch norm
        ("discriminator", "mlp", (2,), {"minibatch": "std"}, False),
        ("discriminator", "mlp", (2,), {"spectral_norm": True}, False),  # a power iteration per call
        ("discriminator", "mlp", (2,), {"num_classes": 3}, False),
    ],
)
def test_which_discriminators_score_a_concatenation(kind, name, shape, options, joint):
    assert build(kind, name, shape, **options).joint_batches is joint


def test_dropout_keeps_two_calls():
    d = MLPDiscriminator(in_shape=SHAPE, hidden=(8,), activation="relu", dropout=0.3)
    assert not d.joint_batches


@pytest.mark.parametrize(("experiment", "joint"), [("ring_unrolled", True), ("grid_gan", True), ("mnist_dcgan", False)])
def test_the_module_tells_its_loss_whether_d_scores_a_concatenation(experiment, joint):
    from hydra import compose, initialize_config_dir

    from ganlab.common.errors import CONF_DIR
    from ganlab.composition.build import build_module

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={experiment}"])
    assert build_module(cfg, record_config=False).loss.joint is joint
