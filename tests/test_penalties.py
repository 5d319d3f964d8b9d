import pytest
import torch
from torch import nn

from ganlab.penalties import DraganPenalty, GradientPenalty, WeightClipping, gradient_norm_penalty


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
    assert GradientPenalty()(lambda x: d(x).squeeze(1), real, fake, generator=g).item() == pytest.approx(0, abs=1e-10)
    assert DraganPenalty()(lambda x: d(x).squeeze(1), real, fake, generator=g).item() == pytest.approx(0, abs=1e-10)


def test_gradient_penalty_closed_form_for_scaled_linear_critic():
    w = torch.randn(6)
    d = _linear(3.0 * w / w.norm())  # ‖∇D‖ = 3 everywhere → λ (3 - 1)² = 40
    value = GradientPenalty(weight=10.0)(lambda x: d(x).squeeze(1), torch.randn(8, 6), torch.randn(8, 6))
    assert value.item() == pytest.approx(40.0, rel=1e-5)


def test_gradient_norm_is_per_sample_over_all_non_batch_dims():
    # D(x) = sum(x * c) over (C, H, W) with a per-sample gradient c of norm 2 → (2 - 1)² = 1
    c = torch.full((2, 3, 3), 2.0 / 18**0.5)
    value = gradient_norm_penalty(lambda x: (x * c).flatten(1).sum(1), torch.randn(5, 2, 3, 3))
    assert value.item() == pytest.approx(1.0, rel=1e-5)


def test_penalty_is_differentiable_wrt_discriminator_parameters():
    d = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    gp = GradientPenalty()(lambda x: d(x).squeeze(1), torch.randn(16, 2), torch.randn(16, 2))
    gp.backward()
    # the output bias does not change ∇_x D, so it gets no gradient; every weight does
    for w in (d[0].weight, d[0].bias, d[2].weight):
        assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0


def test_penalty_randomness_comes_from_the_given_generator():
    d = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    real, fake = torch.randn(16, 2), torch.randn(16, 2)

    def run(seed, penalty):
        return penalty(lambda x: d(x).squeeze(1), real, fake, generator=torch.Generator().manual_seed(seed)).item()

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
