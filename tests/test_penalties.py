import pytest
import torch
from torch import nn

from ganlab.losses import DStep
from ganlab.penalties import R1, R2, DraganPenalty, GradientPenalty, LeCam, WeightClipping, gradient_norm_penalty


def _linear(weight: torch.Tensor) -> nn.Linear:
    d = nn.Linear(weight.numel(), 1)
    with torch.no_grad():
        d.weight.copy_(weight.view(1, -1))
    return d


def test_gradient_penalty_zero_for_unit_norm_linear_critic():
    w = torch.randn(6)
    d = _linear(w / w.norm())
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(32, 6), torch.randn(32, 6)
    assert GradientPenalty()(DStep.of(lambda x: d(x).squeeze(1), real, fake, g)).item() == pytest.approx(0, abs=1e-10)
    assert DraganPenalty()(DStep.of(lambda x: d(x).squeeze(1), real, fake, g)).item() == pytest.approx(0, abs=1e-10)


def test_gradient_penalty_closed_form_for_scaled_linear_critic():
    w = torch.randn(6)
    d = _linear(3.0 * w / w.norm())  # ‖∇D‖ = 3 everywhere → λ (3 - 1)² = 40
    value = GradientPenalty(weight=10.0)(DStep.of(lambda x: d(x).squeeze(1), torch.randn(8, 6), torch.randn(8, 6)))
    assert value.item() == pytest.approx(40.0, rel=1e-5)


def test_gradient_norm_is_per_sample_over_all_non_batch_dims():
    # D(x) = sum(x * c) over (C, H, W) with a per-sample gradient c of norm 2 → (2 - 1)² = 1
    c = torch.full((2, 3, 3), 2.0 / 18**0.5)
    value = gradient_norm_penalty(lambda x: (x * c).flatten(1).sum(1), torch.randn(5, 2, 3, 3))
    assert value.item() == pytest.approx(1.0, rel=1e-5)


def test_penalty_is_differentiable_wrt_discriminator_parameters():
    d = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    gp = GradientPenalty()(DStep.of(lambda x: d(x).squeeze(1), torch.randn(16, 2), torch.randn(16, 2)))
    gp.backward()
    # the output bias does not change ∇_x D, so it gets no gradient; every weight does
    for w in (d[0].weight, d[0].bias, d[2].weight):
        assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0


def test_penalty_randomness_comes_from_the_given_generator():
    d = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    real, fake = torch.randn(16, 2), torch.randn(16, 2)

    def run(seed, penalty):
        return penalty(DStep.of(lambda x: d(x).squeeze(1), real, fake, torch.Generator().manual_seed(seed))).item()

    for penalty in (GradientPenalty(), DraganPenalty()):
        assert run(1, penalty) == run(1, penalty)
        assert run(1, penalty) != run(2, penalty)


def test_weight_clipping_bounds_every_weight():
    d = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 1))
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(100)
    clip = WeightClipping(0.01)
    clip.apply_(d.parameters())
    assert all(p.abs().max() <= 0.01 for p in d.parameters())
    assert torch.equal(clip.apply(torch.tensor([-1.0, 0.005, 1.0])), torch.tensor([-0.01, 0.005, 0.01]))
    with pytest.raises(ValueError, match="clip"):
        WeightClipping(0.0)


# ----------------------------------------------------------------- R1, R2, LeCam, lazy regularisation (issue #19)
def _linear_critic(w: torch.Tensor):
    return lambda x: x.flatten(1) @ w


def test_r1_and_r2_closed_form_for_a_linear_critic():
    # D(x) = w·x: ∇_x D = w for every sample, so (γ/2) E‖∇D‖² = γ/2 · ‖w‖², on reals (R1) and on fakes (R2)
    w = torch.tensor([3.0, -4.0])  # ‖w‖² = 25
    step = DStep.of(_linear_critic(w), torch.randn(8, 2), torch.randn(8, 2))
    assert R1(weight=2.0)(step).item() == pytest.approx(25.0)
    assert R2(weight=0.5)(step).item() == pytest.approx(6.25)


def test_r1_looks_at_reals_and_r2_at_fakes():
    # D(x) = ‖x‖²/2: ∇D = x, so R1 = (γ/2) E‖x_real‖², R2 = (γ/2) E‖x_fake‖²
    real, fake = torch.full((4, 3), 1.0), torch.full((4, 3), 2.0)
    step = DStep.of(lambda x: 0.5 * x.pow(2).sum(1), real, fake)
    assert R1(weight=1.0)(step).item() == pytest.approx(0.5 * 3.0)
    assert R2(weight=1.0)(step).item() == pytest.approx(0.5 * 12.0)


def test_r1_trains_the_discriminator():
    d = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    R1(weight=1.0)(DStep.of(lambda x: d(x).squeeze(1), torch.randn(16, 2), torch.randn(16, 2))).backward()
    assert d[0].weight.grad is not None and d[0].weight.grad.abs().sum() > 0


def test_lecam_closed_form_and_anchors():
    lecam = LeCam(weight=1.0, decay=0.9)
    real_logits, fake_logits = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    step = DStep(lambda x: x, real_logits, fake_logits, real_logits, fake_logits, None, 0)
    # no update yet, anchors 0: E[relu(D(x) − 0)²] + E[relu(0 − D(G(z)))²] = (1 + 9)/2 + (4 + 0)/2
    assert lecam(step).item() == pytest.approx(7.0)
    lecam.observe(step)  # raw α ← 0.9 α + 0.1 mean = (0.2, −0.1); zero-debiased: ÷ (1 − 0.9) = the means (2, −1)
    assert lecam.anchors.tolist() == pytest.approx([0.2, -0.1])
    assert lecam.debiased().tolist() == pytest.approx([2.0, -1.0])
    expected = ((2.0**2 + 4.0**2) / 2) + ((4.0**2 + 2.0**2) / 2)  # relu(D(x) + 1)², relu(2 − D(G(z)))²
    assert lecam(step).item() == pytest.approx(expected)
    assert {"anchors", "updates"} <= set(lecam.state_dict())


def test_lecam_anchors_read_the_true_mean_from_the_first_update():
    """The review's case: a constant mean of 2 read 0.19 after 10 updates from 0 without the debiasing."""
    lecam = LeCam(decay=0.99)
    logits = torch.full((4,), 2.0)
    for _ in range(10):
        lecam.observe(DStep(lambda x: x, logits, logits, logits, logits, None, 0))
    assert lecam.debiased().tolist() == pytest.approx([2.0, 2.0])
    old = {"anchors": torch.tensor([0.5, -0.5])}  # a checkpoint from before the update count
    restored = LeCam(decay=0.99)
    restored.load_state_dict(old)
    assert restored.debiased().tolist() == pytest.approx([0.5, -0.5])


def test_lazy_penalty_applies_every_nth_iteration_scaled_by_n():
    w = torch.tensor([3.0, -4.0])
    step = DStep.of(_linear_critic(w), torch.randn(8, 2), torch.randn(8, 2))
    lazy, eager = R1(weight=2.0, every=4), R1(weight=2.0)
    assert [lazy.active(i) for i in range(9)] == [True, False, False, False, True, False, False, False, True]
    assert lazy(step).item() == pytest.approx(4 * eager(step).item())


@pytest.mark.parametrize(("kwargs", "match"), [({"weight": -1.0}, "weight"), ({"every": 0}, "every")])
def test_bad_penalty_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        R1(**kwargs)
