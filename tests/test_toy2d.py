"""The embedded 2-D mixtures and their DataModule."""

import math

import pytest
import torch

from ganlab.data import Toy2DDataModule, grid_mixture, ring_mixture


def test_ring_geometry():
    m = ring_mixture()
    assert m.n_modes == 8 and m.std == 0.02
    torch.testing.assert_close(m.centers.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.atan2(m.centers[:, 1], m.centers[:, 0]).remainder(2 * math.pi).sort().values
    torch.testing.assert_close(angles.diff(), torch.full((7,), math.pi / 4))


def test_grid_geometry():
    m = grid_mixture()
    assert m.n_modes == 25 and m.std == 0.05
    assert sorted(set(m.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(c) for c in m.centers.tolist()}) == 25


def test_samples_have_the_mixture_std_and_equal_weights():
    m = ring_mixture()
    x = m.sample(80_000, torch.Generator().manual_seed(0))
    nearest = torch.cdist(x, m.centers).argmin(1)
    residual = x - m.centers[nearest]
    assert residual.std().item() == pytest.approx(0.02, rel=0.02)
    counts = torch.bincount(nearest, minlength=8).float() / len(x)
    assert (counts - 1 / 8).abs().max() < 0.01


@pytest.mark.parametrize("pool_size", [1000, None], ids=["pool", "fresh"])
def test_datamodule_batches_are_seeded_and_shaped(pool_size):
    def batches(seed):
        dm = Toy2DDataModule(batch_size=64, iterations_per_epoch=5, pool_size=pool_size, seed=seed)
        return [b[0] for b in dm.train_dataloader()]

    a, b, c = batches(0), batches(0), batches(1)
    assert len(a) == 5 and a[0].shape == (64, 2) and a[0].dtype == torch.float32
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize("pool_size", [500, None], ids=["pool", "fresh"])
def test_dataloader_state_resumes_the_same_sequence(pool_size):
    dm = Toy2DDataModule(batch_size=16, iterations_per_epoch=6, pool_size=pool_size)
    full = [b[0] for b in dm.train_dataloader()]
    loader = dm.train_dataloader()
    it = iter(loader)
    head = [next(it)[0] for _ in range(3)]
    state = loader.state_dict()
    resumed = dm.train_dataloader()
    resumed.load_state_dict(state)
    tail = [b[0] for b in resumed]
    assert all(torch.equal(x, y) for x, y in zip(head + tail, full, strict=True))


def test_fresh_draws_never_repeat_a_point_and_follow_the_mixture():
    """``pool_size=None`` (Metz et al.'s notebook: the mixture sampled at every step): across epochs no point comes
    twice, where a pool of 100 repeats its points; the draws have the mixture's σ and equal weights."""

    def points(pool_size):
        dm = Toy2DDataModule(batch_size=500, iterations_per_epoch=20, pool_size=pool_size)
        loader = dm.train_dataloader()
        return torch.cat([b[0] for _ in range(2) for b in loader])

    fresh, pooled = points(None), points(100)
    assert len(fresh) == 20_000 and len(torch.unique(fresh, dim=0)) == 20_000
    assert len(torch.unique(pooled, dim=0)) <= 100
    m = ring_mixture()
    nearest = torch.cdist(fresh, m.centers).argmin(1)
    assert (fresh - m.centers[nearest]).std().item() == pytest.approx(0.02, rel=0.03)
    assert (torch.bincount(nearest, minlength=8).float() / len(fresh) - 1 / 8).abs().max() < 0.015


def test_unknown_mixture_is_rejected():
    with pytest.raises(ValueError, match="ring, grid"):
        Toy2DDataModule(mixture="spiral")
