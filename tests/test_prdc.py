"""Precision / recall / density / coverage (issue #19) against the authors' reference implementation (``prdc``,
NAVER, the Naeem et al. 2020 code) on the same features, and against cases whose answer is known."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from ganlab.metrics.prdc import knn_radii, prdc

reference = pytest.importorskip("prdc")


def oracle(real: torch.Tensor, fake: torch.Tensor, k: int) -> dict[str, float]:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the sample counts
        out = reference.compute_prdc(real.double().numpy(), fake.double().numpy(), nearest_k=k)
    return {key: float(value) for key, value in out.items()}


@pytest.mark.parametrize(
    ("shift", "scale", "n_real", "n_fake"),
    [(0.0, 1.0, 400, 400), (1.5, 1.0, 300, 500), (0.0, 0.3, 500, 200), (0.5, 2.0, 257, 313)],
)
@pytest.mark.parametrize("k", [3, 5])
def test_matches_the_reference_implementation(shift, scale, n_real, n_fake, k):
    g = torch.Generator().manual_seed(n_real + n_fake + k)
    real = torch.randn(n_real, 16, generator=g, dtype=torch.float64)
    fake = shift + scale * torch.randn(n_fake, 16, generator=g, dtype=torch.float64)
    ours = prdc(real, fake, k_pr=k, k_dc=k, chunk=97)  # a chunk that does not divide the counts
    assert ours == pytest.approx(oracle(real, fake, k), abs=1e-12)


def test_the_two_neighbourhood_sizes_are_each_papers():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(300, 8, generator=g), 0.4 + torch.randn(300, 8, generator=g)
    ours = prdc(real, fake)  # k = 3 for precision / recall, 5 for density / coverage
    pr, dc = oracle(real, fake, 3), oracle(real, fake, 5)
    assert (ours["precision"], ours["recall"]) == pytest.approx((pr["precision"], pr["recall"]), abs=1e-12)
    assert (ours["density"], ours["coverage"]) == pytest.approx((dc["density"], dc["coverage"]), abs=1e-12)


def test_known_answers():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(500, 4, generator=g)
    same = prdc(real, real.clone())
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    far = prdc(real, real + 100.0)  # disjoint supports
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    collapsed = prdc(real, real[:1].repeat(500, 1) + 1e-6 * torch.randn(500, 4, generator=g))
    assert collapsed["precision"] == 1.0 and collapsed["recall"] < 0.05 and collapsed["coverage"] < 0.05


def test_radii_exclude_the_point_itself():
    points = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    (first,) = knn_radii(points, (1,))
    assert first.tolist() == [1.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="more than k = 5 points"):
        knn_radii(points, (5,))


def test_the_suite_reports_them_from_one_feature_pass():
    from ganlab.metrics.image_metrics import ImageMetricSuite, RealStats

    class Features(torch.nn.Module):
        num_features, num_classes = 4, 3

        def forward(self, images):
            flat = images.flatten(1)[:, :4].double()
            return flat, flat[:, :3]

        def provenance(self):
            return {}

    g = torch.Generator().manual_seed(2)
    real = torch.randn(200, 4, generator=g, dtype=torch.float64)
    suite = ImageMetricSuite(Features(), metrics=("fid", "prdc"))
    suite.load_real(RealStats(real.sum(0), real.T @ real, 200, features=real.float()))
    fake = torch.randn(150, 1, 2, 2, generator=g)
    for part in fake.split(50):
        suite.update_fake(part)
    out = suite.compute()
    expected = oracle(real.float().double(), fake.flatten(1).double(), 3)
    assert (out["precision"], out["recall"]) == pytest.approx((expected["precision"], expected["recall"]), abs=1e-12)
    assert {"fid", "density", "coverage"} <= set(out)
    assert np.isfinite(out["fid"])
