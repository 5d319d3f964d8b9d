"""The metric suite under DDP (2 gloo processes on CPU): each rank loads the cached real statistics in its place
(sums on rank 0, KID features split) and updates its share of the fakes; ``compute`` gives every rank the
single-process values, so no real image and no fake is counted twice or lost."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from ranks import run_ranks

from ganlab.metrics.extractors import FeatureExtractor
from ganlab.metrics.image_metrics import ImageMetricSuite, compute_real_stats

N = 120  # real images and fakes; KID subsets of all of them and one IS split make the scores order-free


class LinearExtractor(FeatureExtractor):
    name, num_features, num_classes, cache_id = "linear", 6, 4, "linear"

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w, self.v = torch.randn(16, 6, generator=g), torch.randn(16, 4, generator=g)

    def forward(self, x):
        x = x.flatten(1)
        return torch.tanh(x @ self.w) * 2, x @ self.v

    def provenance(self):
        return {"extractor": "linear"}


def data():
    g = torch.Generator().manual_seed(1)
    real, labels = torch.randn(N, 1, 4, 4, generator=g), torch.randint(0, 4, (N,), generator=g)
    fakes = torch.randn(N, 1, 4, 4, generator=g) * 1.3 + 0.2
    return real, labels, fakes


def scores(rank: int = 0, world_size: int = 1) -> dict:
    real, labels, fakes = data()
    extractor = LinearExtractor()
    stats = compute_real_stats(extractor, [(real, labels)], keep_features=True, num_labels=4)
    suite = ImageMetricSuite(extractor, ("fid", "kid", "is", "modes"), kid_subsets=3, kid_subset_size=N, is_splits=1)
    suite.load_real(stats, rank, world_size)
    share = fakes[rank::world_size]
    for batch in share.split(25):  # uneven batches on purpose
        suite.update_fake(batch)
    torch.manual_seed(0)
    return suite.compute(n_fake_total=N)


def worker(rank: int, world_size: int, port: int, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        torch.save(scores(rank, world_size), f"{out}/{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_give_the_single_process_scores(tmp_path):
    single = scores()
    run_ranks(worker, 2, str(tmp_path))
    for rank in (0, 1):
        ranked = torch.load(tmp_path / f"{rank}.pt", weights_only=True)
        assert ranked.keys() == single.keys()
        for key, value in single.items():
            if key == "is_std":  # undefined with one split (NaN on both sides)
                continue
            assert ranked[key] == pytest.approx(value, rel=1e-6, abs=1e-12), key  # IS: float32 sums in another order
    assert single["modes"] >= 2 and single["fid"] > 0.1
