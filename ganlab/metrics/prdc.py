"""Improved precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020) of fake
features against real ones, by k-nearest-neighbour balls, in chunks (memory O(chunk · M), not O(N · M)).

Definitions as in the authors' reference implementation (``prdc`` on PyPI, ``prdc/prdc.py``; the test suite uses
it as an oracle): the radius of a point is the distance to its k-th nearest neighbour in its own set (itself
excluded), and "inside" is a strict ``<``:

- precision = share of fakes inside at least one real ball (k = ``k_pr``),
- recall    = share of reals inside at least one fake ball (k = ``k_pr``),
- density   = (1 / (k M_fake)) · Σ_fake #real balls containing it (k = ``k_dc``; can exceed 1),
- coverage  = share of reals whose ball contains at least one fake (k = ``k_dc``).

``k_pr`` = 3 is Kynkäänniemi et al.'s choice, ``k_dc`` = 5 Naeem et al.'s; the reference uses one k for all four
(``compute_prdc(..., nearest_k)``), which ``k_pr == k_dc`` reproduces.
"""

from __future__ import annotations

import torch
from torch import Tensor


def knn_radii(features: Tensor, ks: tuple[int, ...], chunk: int = 1024) -> list[Tensor]:
    """For each k in ``ks``: every point's distance to its k-th nearest neighbour within ``features`` (not itself)."""
    n, kmax = features.shape[0], max(ks)
    if n <= kmax:
        raise ValueError(f"k-NN radii need more than k = {kmax} points, got {n}")
    nearest = []
    for start in range(0, n, chunk):
        d = torch.cdist(features[start : start + chunk], features)
        nearest.append(d.topk(kmax + 1, dim=1, largest=False).values)  # column 0: the point itself
    nearest = torch.cat(nearest)
    return [nearest[:, k] for k in ks]


def prdc(real: Tensor, fake: Tensor, k_pr: int = 3, k_dc: int = 5, chunk: int = 1024) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` (N, d) against ``real`` (M, d), in float64."""
    real, fake = real.double(), fake.double()
    real_pr, real_dc = knn_radii(real, (k_pr, k_dc), chunk)
    (fake_pr,) = knn_radii(fake, (k_pr,), chunk)
    in_real_ball = torch.zeros(fake.shape[0], dtype=torch.bool)
    real_balls_hit = torch.zeros(fake.shape[0], dtype=torch.float64)
    in_fake_ball = torch.zeros(real.shape[0], dtype=torch.bool)
    nearest_fake = torch.full((real.shape[0],), float("inf"), dtype=torch.float64)
    for start in range(0, fake.shape[0], chunk):
        d = torch.cdist(fake[start : start + chunk], real)  # (c, M)
        rows = slice(start, start + d.shape[0])
        in_real_ball[rows] = (d < real_pr[None]).any(dim=1)
        real_balls_hit[rows] = (d < real_dc[None]).sum(dim=1).double()
        in_fake_ball |= (d < fake_pr[rows, None]).any(dim=0)
        nearest_fake = torch.minimum(nearest_fake, d.min(dim=0).values)
    return {
        "precision": in_real_ball.double().mean().item(),
        "recall": in_fake_ball.double().mean().item(),
        "density": (real_balls_hit.sum() / (k_dc * fake.shape[0])).item(),
        "coverage": (nearest_fake < real_dc).double().mean().item(),
    }
