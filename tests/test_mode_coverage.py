"""VEEGAN mode-coverage metric on constructed sample sets with known answers."""

import math

import pytest
import torch

from ganlab.data import grid_mixture, ring_mixture
from ganlab.metrics import mode_coverage


def test_true_samples_cover_every_mode_with_high_quality():
    for mixture in (ring_mixture(), grid_mixture()):
        samples = mixture.sample(20_000, torch.Generator().manual_seed(0))
        result = mode_coverage(samples, mixture.centers, mixture.std)
        assert result.modes == mixture.n_modes
        assert result.hq == pytest.approx(98.9, abs=0.5)  # P(‖N(0, σ²I₂)‖ ≤ 3σ) = 1 - e^{-4.5} = 98.89 %
        assert result.mode_kl < 0.01


def test_collapsed_generator_captures_one_mode():
    mixture = ring_mixture()
    samples = mixture.centers[3] + 0.01 * torch.randn(2500, 2, generator=torch.Generator().manual_seed(1))
    result = mode_coverage(samples, mixture.centers, mixture.std)
    assert result.modes == 1 and result.hq > 99
    assert result.mode_kl == pytest.approx(math.log(8), rel=1e-6)  # all mass on one of 8 modes


def test_samples_between_modes_are_low_quality_and_capture_nothing():
    mixture = ring_mixture()
    samples = torch.zeros(100, 2)  # the centre of the ring, 2 away from every mode
    result = mode_coverage(samples, mixture.centers, mixture.std)
    assert result.hq == 0 and result.modes == 0 and math.isnan(result.mode_kl)


def test_threshold_is_three_standard_deviations():
    mixture = ring_mixture(std=0.02)
    inside = mixture.centers[0] + torch.tensor([[0.0599, 0.0]])
    outside = mixture.centers[0] + torch.tensor([[0.0601, 0.0]])
    assert mode_coverage(inside, mixture.centers, mixture.std).hq == 100.0
    assert mode_coverage(outside, mixture.centers, mixture.std).hq == 0.0


def test_kl_of_a_two_mode_split():
    mixture = grid_mixture()
    samples = torch.cat([mixture.centers[0].expand(30, 2), mixture.centers[7].expand(10, 2)])
    result = mode_coverage(samples, mixture.centers, mixture.std)
    p = torch.tensor([0.75, 0.25], dtype=torch.float64)
    assert result.modes == 2 and result.n_samples == 40 and result.n_modes == 25
    assert result.mode_kl == pytest.approx(float((p * (p * 25).log()).sum()), rel=1e-9)
