"""BEGAN: the loss's closed forms and the k_t controller inside BEGANModule (reproduced step by hand)."""

import copy
import csv
import math
from functools import partial

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from ganlab.losses import GANLoss, NonSaturating
from ganlab.modules import BEGANModule
from ganlab.modules.began import BEGANLoss
from ganlab.nets import BEGANAutoencoder, BEGANGenerator

LATENT, SHAPE, BATCH = 8, (1, 28, 28), 4


# ----------------------------------------------------------------- BEGANLoss closed forms
def test_reconstruction_is_mean_absolute_error_of_the_autoencoder():
    x = torch.tensor([[1.0, -2.0], [3.0, -4.0]])
    # |0.5 x − x| = 0.5 |x|: mean(0.5, 1, 1.5, 2) = 1.25
    assert BEGANLoss.reconstruction(lambda v: 0.5 * v, x).item() == pytest.approx(1.25)
    assert BEGANLoss.reconstruction(lambda v: v, x).item() == 0.0
    assert BEGANLoss.reconstruction(lambda v: v + 3.0, x).item() == pytest.approx(3.0)


def test_discriminator_and_generator_losses():
    loss = BEGANLoss()
    real = torch.tensor(0.3, requires_grad=True)
    fake = torch.tensor(0.2, requires_grad=True)
    d = loss.d_loss(real, fake, torch.tensor(0.25))
    assert d.item() == pytest.approx(0.3 - 0.25 * 0.2)
    d.backward()
    assert real.grad.item() == pytest.approx(1.0) and fake.grad.item() == pytest.approx(-0.25)
    assert loss.d_loss(real, fake, torch.tensor(0.0)).item() == pytest.approx(0.3)  # k = 0: pure autoencoder
    assert loss.g_loss(fake) is fake


@pytest.mark.parametrize(
    ("gamma", "lambda_k", "k", "real", "fake", "expected"),
    [
        (0.5, 0.001, 0.5, 0.4, 0.1, 0.5 + 0.001 * (0.2 - 0.1)),
        (0.7, 0.01, 0.3, 0.5, 0.6, 0.3 + 0.01 * (0.35 - 0.6)),
        (0.5, 0.001, 0.25, 0.4, 0.2, 0.25),  # balanced: k stays
        (0.5, 1.0, 0.9999, 2.0, 0.0, 1.0),  # 0.9999 + 1.0 clipped to 1
        (0.5, 1.0, 0.0005, 0.1, 3.0, 0.0),  # 0.0005 − 2.95 clipped to 0
        (0.5, 0.001, 0.0, 0.1, 3.0, 0.0),  # already at the bottom
    ],
)
def test_next_k_is_clipped_proportional_control(gamma, lambda_k, k, real, fake, expected):
    loss = BEGANLoss(gamma=gamma, lambda_k=lambda_k)
    out = loss.next_k(torch.tensor(k), torch.tensor(real), torch.tensor(fake))
    assert out.item() == pytest.approx(expected, abs=1e-7)
    assert 0.0 <= out.item() <= 1.0


def test_balance_and_convergence_measure():
    loss = BEGANLoss(gamma=0.5)
    real = torch.tensor(0.4, requires_grad=True)
    for fake, expected in ((0.1, 0.4 + 0.1), (0.5, 0.4 + 0.3)):  # γ L(x) − L(G(z)) = +0.1 and −0.3
        m = loss.convergence(real, torch.tensor(fake, requires_grad=True))
        assert m.item() == pytest.approx(expected)
        assert not m.requires_grad  # a measure, never a training signal
    k = loss.next_k(torch.tensor(0.5), real, torch.tensor(0.1, requires_grad=True))
    assert not k.requires_grad


# ----------------------------------------------------------------- BEGANModule
def make_module(k_init=0.3, lr=0.05, loss=None, seed=0):
    torch.manual_seed(seed)
    return BEGANModule(
        BEGANGenerator(latent_dim=LATENT, out_shape=SHAPE, n=8),
        BEGANAutoencoder(SHAPE, n=8, hidden=8),
        loss or BEGANLoss(gamma=0.5, lambda_k=0.05),
        partial(torch.optim.SGD, lr=lr),
        partial(torch.optim.SGD, lr=lr),
        latent_dim=LATENT,
        k_init=k_init,
        noise_seed=3,
    )


def data(n=BATCH * 3) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(n, *SHAPE) * 2 - 1


def fit(module, iterations, tmp_path=None, **trainer_kw):
    module.max_iterations = iterations
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=CSVLogger(tmp_path, name="began") if tmp_path is not None else False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        log_every_n_steps=1,
        **trainer_kw,
    )
    loader = DataLoader(TensorDataset(data()), batch_size=BATCH, shuffle=False)
    trainer.fit(module, loader)
    return trainer


def mae(autoencoder, x):
    return (autoencoder(x) - x).abs().mean()


def test_first_step_matches_a_hand_made_step():
    module = make_module(k_init=0.3, lr=0.05)
    g0, d0 = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
    fit(module, iterations=1)
    assert module.iteration == 1

    x = data()[:BATCH]
    noise = torch.Generator().manual_seed(3)
    z_d = torch.randn(BATCH, LATENT, generator=noise)
    z_g = torch.randn(BATCH, LATENT, generator=noise)
    # D step: plain SGD on L(x) − k L(G(z_D)) with G's sample as a constant
    with torch.no_grad():
        fake_d = g0(z_d)
    real_error = mae(d0, x)
    d_loss = real_error - 0.3 * mae(d0, fake_d)
    grads = torch.autograd.grad(d_loss, list(d0.parameters()))
    d1 = copy.deepcopy(d0)
    with torch.no_grad():
        for p, g in zip(d1.parameters(), grads, strict=True):
            p -= 0.05 * g
    for p, expected in zip(module.discriminator.parameters(), d1.parameters(), strict=True):
        torch.testing.assert_close(p, expected, rtol=1e-4, atol=1e-6)
    # G step against the updated D; k uses L(x) before and L(G(z_G)) after the D update
    fake_error = mae(d1, g0(z_g))
    g_grads = torch.autograd.grad(fake_error, list(g0.parameters()))
    for p, p0, g in zip(module.generator.parameters(), g0.parameters(), g_grads, strict=True):
        torch.testing.assert_close(p, p0 - 0.05 * g, rtol=1e-4, atol=1e-6)
    balance = 0.5 * real_error.item() - fake_error.item()
    expected_k = min(max(0.3 + 0.05 * balance, 0.0), 1.0)
    assert abs(expected_k - 0.3) > 1e-4, "the step must move k for the test to mean anything"
    assert module.k.item() == pytest.approx(expected_k, abs=1e-6)


@pytest.mark.parametrize(("k_init", "gamma", "bound"), [(0.999, 1e4, 1.0), (0.001, 0.0, 0.0)])
def test_k_saturates_at_the_controller_bounds(k_init, gamma, bound):
    """A huge gain drives k to a clip end: γ = 0 makes the balance −L(G(z)) < 0, a huge γ makes it > 0."""
    module = make_module(k_init=k_init, loss=BEGANLoss(gamma=gamma, lambda_k=1e3))
    fit(module, iterations=1)
    assert module.k.item() == bound


def test_training_logs_k_and_convergence_and_checkpoints_k(tmp_path):
    module = make_module(k_init=0.3)
    trainer = fit(module, iterations=3, tmp_path=tmp_path)
    assert module.iteration == 3
    k = module.k.item()
    assert 0.0 <= k <= 1.0 and k != pytest.approx(0.3, abs=1e-6)

    with open(next(tmp_path.rglob("metrics.csv"))) as f:
        rows = list(csv.DictReader(f))
    logged = [r for r in rows if r.get("train/k")]
    assert len(logged) == 3
    for row in logged:
        real, fake, m = (float(row[key]) for key in ("train/recon_real", "train/recon_fake", "train/m_global"))
        assert m == pytest.approx(real + abs(0.5 * real - fake), rel=1e-5)
        assert math.isfinite(float(row["train/d_loss"])) and 0.0 <= float(row["train/k"]) <= 1.0
    assert float(logged[-1]["train/k"]) == pytest.approx(k, abs=1e-6)
    # consecutive k's follow the controller from the logged errors of the same iteration
    previous = 0.3
    for row in logged:
        real, fake = float(row["train/recon_real"]), float(row["train/recon_fake"])
        assert float(row["train/k"]) == pytest.approx(min(max(previous + 0.05 * (0.5 * real - fake), 0), 1), abs=1e-5)
        previous = float(row["train/k"])

    assert "k" in module.state_dict()
    path = tmp_path / "began.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["state_dict"]["k"].item() == pytest.approx(k)
    restored = make_module(k_init=0.0, seed=5)
    assert restored.k.item() == 0.0
    restored.load_state_dict(ckpt["state_dict"])
    assert restored.k.item() == pytest.approx(k)
    torch.testing.assert_close(restored.generator(torch.ones(2, LATENT)), module.generator(torch.ones(2, LATENT)))


def test_began_module_refuses_other_losses():
    with pytest.raises(TypeError, match="BEGANLoss"):
        make_module(loss=GANLoss(NonSaturating()))
