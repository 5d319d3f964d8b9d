"""ADA's bgc pipeline (ganlab/augment/bgc.py, StyleGAN2-ADA's augment.py): identity at p = 0, each op's frequency
p × its multiplier, exact geometric primitives, the colour maps, differentiability, RNG use independent of p."""

import math

import pytest
import torch

from ganlab.augment import AdaptiveAugment, BgcAugment
from ganlab.augment.bgc import (
    COLOUR,
    GEOMETRIC,
    MULTIPLIERS,
    apply_colour,
    apply_geometric,
    bgc,
    rotate2d,
    sample,
    scale2d,
    translate2d,
)


def images(n=8, c=1, size=16, seed=0):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("channels", [1, 3])
def test_p_zero_is_the_identity(channels):
    x = images(c=channels)
    assert torch.equal(bgc(x, 0.0, torch.Generator().manual_seed(1)), x)
    ada = AdaptiveAugment(pipeline="bgc")  # ADA starts at p = 0
    assert torch.equal(ada(x, torch.Generator().manual_seed(1)), x)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_each_op_is_applied_with_probability_p_times_its_multiplier(p):
    n = 40_000
    _, _, applied = sample(n, 16, 16, p, torch.Generator().manual_seed(2), "cpu")
    assert set(applied) == set(GEOMETRIC) | set(COLOUR)
    for op, mask in applied.items():
        expected = min(p * MULTIPLIERS[op], 1.0)
        assert abs(mask.float().mean().item() - expected) < 0.01, (op, mask.float().mean().item(), expected)


def test_geometric_primitives_are_exact():
    x, n = images(n=3), 3
    one = torch.ones(n)
    torch.testing.assert_close(apply_geometric(x, scale2d(-one, one)), x.flip(3))  # x-flip
    quarter = apply_geometric(x, rotate2d(torch.full((n,), -math.pi / 2)))
    assert any(torch.allclose(quarter, torch.rot90(x, k, dims=(2, 3)), atol=1e-5) for k in (1, 3))
    moved = apply_geometric(x, translate2d(torch.full((n,), -2.0), torch.zeros(n)))  # output(w) = input(w - 2)
    torch.testing.assert_close(moved[..., 2:], x[..., :-2])


def test_colour_maps():
    gray = torch.full((2, 3, 4, 4), 0.25)
    _, c, _ = sample(2, 4, 4, 1.0, torch.Generator().manual_seed(3), "cpu")
    identity = torch.eye(4).expand(2, 4, 4)
    torch.testing.assert_close(apply_colour(gray, identity), gray)
    flip = torch.eye(4) - 2 * torch.outer(*(2 * [torch.tensor([1.0, 1, 1, 0]) / math.sqrt(3)]))
    torch.testing.assert_close(apply_colour(gray, flip.expand(2, 4, 4)), -gray)  # the luma flip inverts gray
    one = apply_colour(torch.full((2, 1, 4, 4), 0.25), c)  # one channel: the map's mean row
    three = apply_colour(gray, c)
    torch.testing.assert_close(one[:, 0], three.mean(1), atol=1e-5, rtol=1e-5)


def test_it_is_differentiable_and_draws_the_same_numbers_whatever_p():
    x = images(c=3).requires_grad_(True)
    bgc(x, 1.0, torch.Generator().manual_seed(4)).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    states = []
    for p in (0.0, 0.5, 1.0):
        g = torch.Generator().manual_seed(5)
        bgc(images(c=3), p, g)
        states.append(g.get_state())
    assert all(torch.equal(states[0], s) for s in states)


def test_the_adaptive_pipeline_is_named():
    assert "pipeline=bgc" in repr(AdaptiveAugment(pipeline="bgc"))
    assert "pipeline=diffaugment" in repr(AdaptiveAugment())
    with pytest.raises(ValueError, match="pipeline='kornia'; accepted: bgc, diffaugment"):
        AdaptiveAugment(pipeline="kornia")


def test_the_fixed_probability_pipeline_is_bgc_at_that_p():
    """``+loss/augment=bgc``: ADA's ops at a fixed p (StyleGAN2-ADA's --aug=fixed), the same draws as ``bgc``."""
    x = images(c=3)
    fixed = BgcAugment(probability=0.6)

    def seeded():
        return torch.Generator().manual_seed(6)

    torch.testing.assert_close(fixed(x, seeded()), bgc(x, 0.6, seeded()))
    assert fixed.current_probability() == 0.6 and "pipeline=bgc, probability=0.6" in repr(fixed)
    torch.testing.assert_close(BgcAugment(0.0)(x, seeded()), x)
    for bad in (1.5, -0.1, True):
        with pytest.raises(ValueError, match=f"probability={bad}; accepted: a number in \\[0, 1\\]"):
            BgcAugment(bad)
    with pytest.raises(ValueError, match="NCHW"):
        fixed(torch.zeros(4, 2))


@pytest.mark.parametrize("p", [0.2, 0.6, 0.8, 0.95, 1.0])
def test_the_flips_and_quarter_turns_do_not_leak_below_p_one(monkeypatch, p):
    """ADA's non-leaking condition for its x-flip and quarter turns (Karras et al. 2020, §2.2): the augmented data
    still say which orientation is the real one when the identity is the most frequent of the 8 symmetries of the
    square. From bgc's own draws (the other ops switched off): identity (1 − p/2)(1 − 3p/4), a turn (1 − p/2)p/4, a
    flip p/2 (1 − 3p/4), a flip with a turn p²/8 — the identity is the unique mode for every p < 1, and at p = 1 all
    eight are equally likely (D cannot tell: the regime where G's orientation may drift)."""
    from ganlab.augment import bgc as module

    monkeypatch.setattr(module, "MULTIPLIERS", {op: float(op in ("xflip", "rotate90")) for op in module.MULTIPLIERS})
    n = 40_000
    g_inv, _, _ = sample(n, 8, 8, p, torch.Generator().manual_seed(7), "cpu")
    linear = g_inv[:, :2, :2].round().to(torch.int64)
    assert torch.allclose(g_inv[:, :2, :2], linear.float(), atol=1e-5) and torch.all(g_inv[:, :2, 2] == 0)
    identity = (linear == torch.eye(2, dtype=torch.int64)).flatten(1).all(1)
    flipped = torch.linalg.det(linear.double()) < 0
    shares = {
        "identity": identity.double().mean().item(),
        "turn": (~identity & ~flipped).double().mean().item() / 3,  # per quarter turn
        "flip": flipped.double().mean().item() / 4,  # per flip (alone or with a turn)
    }
    keys, counts = torch.unique(linear.flatten(1), dim=0, return_counts=True)
    assert len(keys) == (8 if p > 0 else 1)
    share_of = {tuple(k.tolist()): c.item() / n for k, c in zip(keys, counts, strict=True)}
    expected_identity = (1 - p / 2) * (1 - 3 * p / 4)
    assert shares["identity"] == pytest.approx(expected_identity, abs=0.01)
    assert shares["turn"] == pytest.approx((1 - p / 2) * p / 4, abs=0.01)
    assert shares["flip"] == pytest.approx(p / 2 / 4, abs=0.01)
    others = [v for k, v in share_of.items() if k != (1, 0, 0, 1)]
    if p < 1:  # the real orientation stays the most frequent (at p = 0.95 by 0.014, ≈ 7 sampling sd)
        assert shares["identity"] > max(others)
    else:
        assert max(abs(v - 1 / 8) for v in share_of.values()) < 0.01  # all eight alike: nothing to tell them apart
