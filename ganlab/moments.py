"""The latent regulariser of the kurtosis autoencoder (course report 000, "Non-Adversarial Networks Q2").

The encoder's codes z are pushed towards N(0, 1) through their first moments:

    z_loss = MSE([mean(z), var(z), kurtosis(z)], [0, 1, 3])

with kurtosis the fourth standardised moment E[(z − μ)⁴] / σ⁴ (3 for any normal distribution; not the excess
kurtosis). ``pooled`` (the report's) takes the moments over all B·d entries of the batch's codes; ``per_dimension``
takes them per latent dimension over the batch and averages the squared errors over dimensions, so each
coordinate, not only their mixture, is pushed to N(0, 1). All moments are population (biased) estimates.

The regulariser's weight grows with the epoch (``EpochSchedule``): 0.001 at the first epoch, doubled every epoch,
capped at 2.048 (reached at the 12th epoch), the report's schedule.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: The moments of N(0, 1): mean, variance, kurtosis.
NORMAL_MOMENTS = (0.0, 1.0, 3.0)
POOLINGS = ("pooled", "per_dimension")


def standardized_moments(z: Tensor, pooling: str = "pooled", eps: float = 1e-12) -> Tensor:
    """(3,) mean, variance, kurtosis of all entries of z (``pooled``), or (3, d) per column of z (B, d)
    (``per_dimension``)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} is not known; accepted: {', '.join(POOLINGS)}")
    x = z.reshape(-1) if pooling == "pooled" else z.reshape(z.shape[0], -1)
    mean = x.mean(0)
    centred = x - mean
    var = centred.pow(2).mean(0)
    kurtosis = centred.pow(4).mean(0) / var.pow(2).clamp_min(eps)
    return torch.stack([mean, var, kurtosis])


def moment_loss(z: Tensor, pooling: str = "pooled") -> Tensor:
    """MSE of the codes' (mean, variance, kurtosis) to N(0, 1)'s (0, 1, 3); 0 for a perfectly normal sample."""
    moments = standardized_moments(z, pooling)
    target = torch.tensor(NORMAL_MOMENTS, dtype=moments.dtype, device=moments.device)
    return (moments - target.view(3, *[1] * (moments.dim() - 1))).pow(2).mean()


def ks_normal(samples: Tensor) -> float:
    """Kolmogorov–Smirnov statistic sup |F_n(x) − Φ(x)| of the samples against the standard normal CDF."""
    x = samples.detach().reshape(-1).double().sort().values
    n = x.numel()
    if n == 0:
        return math.nan
    cdf = torch.special.ndtr(x)
    steps = torch.arange(1, n + 1, dtype=torch.float64, device=x.device) / n
    return float(torch.maximum(steps - cdf, cdf - (steps - 1.0 / n)).max())


class EpochSchedule:
    """``start · growth^epoch``, capped at ``max_value`` (epochs count from 0). The report's: 0.001, ×2, cap 2.048."""

    def __init__(self, start: float = 0.001, growth: float = 2.0, max_value: float | None = 2.048):
        if start < 0 or growth <= 0 or (max_value is not None and max_value < 0):
            raise ValueError(
                f"EpochSchedule(start={start}, growth={growth}, max_value={max_value}) is invalid; accepted: "
                "start >= 0, growth > 0, max_value null or >= 0"
            )
        self.start, self.growth, self.max_value = start, growth, max_value

    def __call__(self, epoch: int) -> float:
        try:
            value = self.start * self.growth**epoch
        except OverflowError:  # thousands of epochs of growth: the cap (or infinity) is what is meant
            value = math.inf
        return value if self.max_value is None else min(value, self.max_value)

    def __repr__(self) -> str:
        return f"EpochSchedule(start={self.start}, growth={self.growth}, max_value={self.max_value})"
