"""Each objective against closed forms at known logits, and the saturation behaviour of G losses."""

import math

import pytest
import torch

from ganlab.losses import GANLoss, Hinge, LeastSquares, Minimax, NonSaturating, Wasserstein
from ganlab.penalties import R1, LeCam, Penalty

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


def test_ganloss_bundles_objective_and_penalties():
    calls = []

    class Constant(Penalty):
        def term(self, step):
            calls.append(step.generator)
            return torch.tensor(0.25)

    loss = GANLoss(Minimax(), penalties={"c": Constant(weight=2.0), "lazy": Constant(weight=1.0, every=3)})
    noise = torch.Generator()
    loss.start(iteration=1, generator=noise)  # the lazy one is off at iteration 1
    out = loss.discriminator(lambda x: x.sum(1), torch.zeros(4, 2), torch.zeros(4, 2))
    assert out.total.item() == pytest.approx(2 * math.log(2) + 0.5)
    assert out.penalty.item() == 0.5 and list(out.penalties) == ["c"] and calls == [noise]
    loss.start(iteration=3, generator=noise)  # both on; the lazy term ×3
    out = loss.discriminator(lambda x: x.sum(1), torch.zeros(4, 2), torch.zeros(4, 2))
    assert out.penalty.item() == pytest.approx(0.5 + 0.75)
    assert loss.name == "minimax"


def test_the_augmentation_wraps_d_once_for_d_g_and_every_penalty():
    seen = []

    class Shift(torch.nn.Module):
        def forward(self, x, generator):
            seen.append(generator)
            return x + 1.0

    d_inputs = []

    def d_fn(x):
        d_inputs.append(x.detach().clone())
        return x.sum(1)

    noise = torch.Generator()
    loss = GANLoss(Minimax(), penalties={"r1": R1(weight=1.0)}, augment=Shift())
    loss.start(0, noise)
    real, fake = torch.zeros(2, 3), torch.zeros(2, 3)
    loss.discriminator(d_fn, real, fake)
    loss.generator(d_fn, fake)
    # D on real, D on fake, D inside R1, D on the generator's fakes: every input shifted exactly once
    assert len(d_inputs) == 4 and all(torch.equal(x, torch.ones(2, 3)) for x in d_inputs)
    assert seen == [noise] * 4


def test_observe_updates_state_only_from_the_d_step():
    lecam = LeCam(weight=1.0)
    loss = GANLoss(Minimax(), penalties={"lecam": lecam})
    loss.start(0, None)
    real, fake = torch.ones(4, 2), -torch.ones(4, 2)
    loss.discriminator(lambda x: x.sum(1), real, fake)  # a look-ahead evaluation
    assert lecam.anchors.tolist() == [0.0, 0.0]
    step = loss.discriminator(lambda x: x.sum(1), real, fake, observe=True)  # the D step
    assert lecam.anchors.tolist() == pytest.approx([0.02, -0.02])
    # the term read the anchors this D step updated (debiased: the means 2 and −2), as the authors' code does
    assert step.penalties["lecam"].item() == pytest.approx(1.0 * (4.0**2 + 4.0**2))
