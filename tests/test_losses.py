"""Each objective against closed forms at known logits, and the saturation behaviour of G losses."""

import math

import pytest
import torch

from ganlab.losses import GANLoss, Hinge, LeastSquares, Minimax, NonSaturating, Wasserstein

ZERO = torch.zeros(64)


def test_bce_discriminator_at_half_is_two_log_two():
    for objective in (Minimax(), NonSaturating()):
        assert objective.d_loss(ZERO, ZERO).item() == pytest.approx(2 * math.log(2), abs=1e-6)


def test_bce_discriminator_known_logits():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = -(d_real.log().mean() + (1 - d_fake).log().mean())
    assert Minimax().d_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)


def test_label_smoothing_changes_only_the_real_term():
    real, fake = torch.tensor([1.5, 0.2]), torch.tensor([-0.3, 0.4])
    d = torch.sigmoid(real)
    real_term = -(0.9 * d.log() + 0.1 * (1 - d).log()).mean()
    fake_term = -(1 - torch.sigmoid(fake)).log().mean()
    assert Minimax().d_loss(real, fake, real_label=0.9).item() == pytest.approx(
        (real_term + fake_term).item(), rel=1e-6
    )


def test_minimax_generator_is_the_true_saturating_loss():
    fake = torch.tensor([1.0, -2.0, 0.3])
    expected = (1 - torch.sigmoid(fake)).log().mean()  # E[log(1 - D(G(z)))]
    assert Minimax().g_loss(fake).item() == pytest.approx(expected.item(), rel=1e-6)
    assert NonSaturating().g_loss(fake).item() == pytest.approx(-torch.sigmoid(fake).log().mean().item(), rel=1e-6)


def _grad_wrt_logit(objective, logit: float) -> float:
    x = torch.tensor([logit], requires_grad=True)
    objective.g_loss(x).backward()
    return x.grad.item()


def test_minimax_saturates_and_non_saturating_does_not():
    # D(G(z)) = sigmoid(-12) ≈ 6e-6: the discriminator confidently rejects the fake
    mm, ns = _grad_wrt_logit(Minimax(), -12.0), _grad_wrt_logit(NonSaturating(), -12.0)
    assert abs(mm) < 1e-5  # vanishing gradient: d/dl[-softplus(l)] = -sigmoid(l)
    assert abs(ns) == pytest.approx(1.0, abs=1e-5)  # d/dl[softplus(-l)] = -sigmoid(-l) → -1
    # gradient magnitudes move in opposite directions as D(G(z)) → 0
    assert abs(_grad_wrt_logit(Minimax(), -4.0)) > abs(mm)
    assert abs(_grad_wrt_logit(NonSaturating(), -4.0)) < abs(ns)


def test_least_squares_closed_form():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    assert LeastSquares().d_loss(real, fake).item() == pytest.approx(0.5 * 0.5 + 0.5 * 2.0)
    assert LeastSquares().g_loss(fake).item() == pytest.approx(0.5 * (1 + 1) / 2)
    assert LeastSquares().d_loss(torch.ones(3), torch.zeros(3)).item() == 0.0


def test_wasserstein_and_hinge_closed_forms():
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([-1.0, 0.5])
    assert Wasserstein().d_loss(real, fake).item() == pytest.approx(-0.25 - 2.0)
    assert Wasserstein().g_loss(fake).item() == pytest.approx(0.25)
    # hinge: relu(1 - [3, 1]) = [0, 0]; relu(1 + [-1, 0.5]) = [0, 1.5]
    assert Hinge().d_loss(real, fake).item() == pytest.approx(0.75)
    assert Hinge().g_loss(fake).item() == pytest.approx(0.25)


def test_d_output_is_probability_only_for_bce_objectives():
    logits = torch.tensor([0.0, 100.0])
    assert torch.equal(Minimax().d_output(logits), torch.tensor([0.5, 1.0]))
    assert torch.equal(Wasserstein().d_output(logits), logits)
    assert Wasserstein.critic and Hinge.critic and not Minimax.critic


def test_softplus_forms_are_finite_at_extreme_logits():
    extreme = torch.tensor([-1e4, 1e4])
    for objective in (Minimax(), NonSaturating()):
        assert torch.isfinite(objective.d_loss(extreme, extreme))
        assert torch.isfinite(objective.g_loss(extreme))


def test_ganloss_bundles_objective_and_penalty():
    calls = []

    def penalty(d_fn, real, fake, generator=None):
        calls.append(generator)
        return torch.tensor(0.5)

    loss = GANLoss(Minimax(), penalty=penalty)
    out = loss.discriminator(lambda x: x.sum(1), torch.zeros(4, 2), torch.zeros(4, 2))
    assert out.total.item() == pytest.approx(2 * math.log(2) + 0.5)
    assert out.penalty.item() == 0.5 and len(calls) == 1
    assert loss.name == "minimax"
