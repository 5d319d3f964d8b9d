"""Mode coverage of a 2-D Gaussian mixture, as defined by VEEGAN (Srivastava et al. 2017) and used by
PacGAN: a sample is *high quality* if it lies within ``n_std`` standard deviations of its nearest mode;
a mode is *captured* if it is the nearest mode of at least one high-quality sample. ``mode_kl`` is
KL(p ‖ uniform) of the histogram of high-quality samples over the modes (0 = perfectly balanced)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class ModeCoverage:
    hq: float  # percentage of high-quality samples, in [0, 100]
    modes: int  # number of captured modes
    mode_kl: float  # KL(captured-mode histogram ‖ uniform over all modes); NaN without HQ samples
    n_samples: int
    n_modes: int

    def as_dict(self) -> dict:
        return asdict(self)


def mode_coverage(samples: Tensor, centers: Tensor, std: float, n_std: float = 3.0) -> ModeCoverage:
    samples = samples.detach().float().cpu().reshape(-1, centers.shape[1])
    dist = torch.cdist(samples, centers.float().cpu())  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= n_std * std
    counts = torch.bincount(nearest[good], minlength=centers.shape[0]).double()
    n_good = int(good.sum())
    if n_good == 0:
        kl = math.nan
    else:
        p = counts / n_good
        nz = p > 0
        kl = float((p[nz] * (p[nz] * centers.shape[0]).log()).sum())
    return ModeCoverage(
        hq=100.0 * n_good / max(samples.shape[0], 1),
        modes=int((counts > 0).sum()),
        mode_kl=kl,
        n_samples=int(samples.shape[0]),
        n_modes=int(centers.shape[0]),
    )
