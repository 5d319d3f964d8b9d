"""ganlab.latent: inversion recovers a known z, best-of-S is never worse than one start and equals separate runs,
masks are what they say and deterministic, walks end where they should, bad shapes are clear errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganlab.latent import (
    ALPHAS,
    apply_mask,
    arithmetic,
    crosswalk_mask,
    interpolate,
    invert,
    make_mask,
    masked_mse,
    pepper_mask,
    slerp,
    square_mask,
    truncated_normal,
)
from ganlab.nets import ConvGenerator

LATENT = 8


def random_generator(seed: int = 0) -> nn.Module:
    """A fixed random MLP generator z (8) → 1×6×6 images in [-1, 1], smooth enough for gradient descent."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(LATENT, 64), nn.Tanh(), nn.Linear(64, 36), nn.Tanh(), nn.Unflatten(1, (1, 6, 6)))
    return net.eval().requires_grad_(False)


def test_inversion_recovers_the_image_of_a_known_latent():
    g = random_generator()
    z_true = torch.randn(4, LATENT, generator=torch.Generator().manual_seed(1))
    targets = g(z_true)
    result = invert(g, targets, LATENT, restarts=4, iterations=600, lr=0.05, optimizer="adam", seed=3)
    assert result.z.shape == (4, LATENT) and result.curves.shape == (600, 4, 4)
    assert result.loss.max() < 1e-5, result.loss
    assert torch.allclose(g(result.z), targets, atol=1e-2)
    start = masked_mse(g(torch.randn(4, LATENT, generator=torch.Generator().manual_seed(3))), targets)
    assert (result.loss < start * 1e-3).all()


def test_best_of_s_is_never_worse_than_its_first_start_and_equals_separate_runs():
    g = random_generator()
    targets = g(torch.randn(5, LATENT, generator=torch.Generator().manual_seed(7))) * 0.9
    z0 = torch.randn(5, 3, LATENT, generator=torch.Generator().manual_seed(11))
    batched = invert(g, targets, LATENT, restarts=3, iterations=40, lr=0.5, optimizer="sgd", z_init=z0)
    single = invert(g, targets, LATENT, restarts=1, iterations=40, lr=0.5, optimizer="sgd", z_init=z0[:, :1])
    assert (batched.loss <= single.loss).all()
    assert torch.equal(batched.restart_loss.min(1).values, batched.loss)
    for n in (0, 4):  # one image, one restart at a time (the report's loop) gives the same numbers
        for s in range(3):
            one = {"restarts": 1, "iterations": 40, "lr": 0.5, "optimizer": "sgd", "z_init": z0[n : n + 1, s : s + 1]}
            alone = invert(g, targets[n : n + 1], LATENT, **one)
            assert torch.allclose(alone.loss[0], batched.restart_loss[n, s], rtol=1e-4, atol=1e-7)
            assert torch.allclose(alone.z[0], batched.restart_z[n, s], rtol=1e-4, atol=1e-6)


def test_masked_inversion_fits_the_observed_pixels_only():
    g = random_generator()
    targets = g(torch.randn(2, LATENT, generator=torch.Generator().manual_seed(5)))
    mask = crosswalk_mask(2, 6, 6)
    corrupted = apply_mask(targets, mask)
    result = invert(g, corrupted, LATENT, restarts=4, iterations=600, mask=mask, seed=2)
    assert result.loss.max() < 1e-4  # the loss counts observed pixels only …
    hidden = masked_mse(g(result.z), targets, 1 - mask)
    blind = invert(g, corrupted, LATENT, restarts=4, iterations=600, seed=2)  # … fitting the black rows instead
    assert (hidden < masked_mse(g(blind.z), targets, 1 - mask)).all()


def test_prior_weight_shrinks_the_latents():
    g = random_generator()
    targets = torch.zeros(3, 1, 6, 6)
    free = invert(g, targets, LATENT, restarts=2, iterations=200, seed=0)
    prior = invert(g, targets, LATENT, restarts=2, iterations=200, seed=0, prior_weight=1.0)
    assert prior.z.norm(dim=1).mean() < free.z.norm(dim=1).mean()


def test_image_size_must_match_the_generator():
    g = ConvGenerator(latent_dim=LATENT, out_shape=(1, 28, 28), widths={28: [16, 8]}).eval()
    with pytest.raises(ValueError, match=r"\(1, 32, 32\).*\(1, 28, 28\)"):
        invert(g, torch.zeros(2, 1, 32, 32), LATENT, iterations=1)
    with pytest.raises(ValueError, match="accepted: sgd, adam"):
        invert(g, torch.zeros(2, 1, 28, 28), LATENT, optimizer="lbfgs")


# --------------------------------------------------------------------------- masks
def test_pepper_hides_exactly_the_fraction_and_is_deterministic():
    mask = pepper_mask(16, 28, 28, fraction=0.3, seed=4)
    assert mask.shape == (16, 1, 28, 28)
    assert ((1 - mask).flatten(1).sum(1) == round(0.3 * 784)).all()
    assert torch.equal(mask, pepper_mask(16, 28, 28, fraction=0.3, seed=4))
    assert not torch.equal(mask, pepper_mask(16, 28, 28, fraction=0.3, seed=5))
    assert not torch.equal(mask[0], mask[1])  # a different pattern per image
    assert ((1 - pepper_mask(2, 28, 28, fraction=0.1)).flatten(1).sum(1) == 78).all()


def test_crosswalk_hides_every_second_row():
    mask = crosswalk_mask(3, 28, 28)
    assert (mask[:, :, 1::2] == 0).all() and (mask[:, :, 0::2] == 1).all()
    assert (1 - mask).mean() == 0.5


def test_square_hides_one_in_bounds_patch_per_image():
    mask = square_mask(50, 28, 28, size=8, seed=1)
    for m in mask[:, 0]:
        rows, cols = torch.nonzero(m == 0, as_tuple=True)
        assert len(rows) == 64 and rows.max() - rows.min() == 7 and cols.max() - cols.min() == 7
    assert torch.equal(mask, square_mask(50, 28, 28, size=8, seed=1))
    corners = {tuple(torch.nonzero(m[0] == 0)[0].tolist()) for m in mask}
    assert len(corners) > 10  # positions vary


@pytest.mark.parametrize("bad", [("pepper", {"fraction": 1.5}), ("square", {"size": 40}), ("blob", {})])
def test_bad_mask_settings_name_the_accepted_values(bad):
    kind, options = bad
    with pytest.raises(ValueError, match="accepted"):
        make_mask(kind, 1, 28, 28, **options)


def test_apply_mask_blackens_the_hidden_pixels():
    images = torch.rand(2, 3, 4, 4)
    mask = crosswalk_mask(2, 4, 4)
    out = apply_mask(images, mask)
    assert (out[:, :, 1::2] == -1).all() and torch.equal(out[:, :, 0::2], images[:, :, 0::2])


# --------------------------------------------------------------------------- walks
@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_interpolation_ends_at_both_latents_and_their_images(mode):
    g = random_generator()
    z1, z2 = torch.randn(2, LATENT, generator=torch.Generator().manual_seed(0))
    path = interpolate(z1, z2, ALPHAS, mode)
    assert path.shape == (9, LATENT) and ALPHAS[1] == 0.125
    assert torch.allclose(path[0], z1, atol=1e-6) and torch.allclose(path[-1], z2, atol=1e-6)
    images = g(path)
    assert torch.allclose(images[0], g(z1[None])[0], atol=1e-6)
    assert torch.allclose(images[-1], g(z2[None])[0], atol=1e-6)


def test_slerp_stays_on_the_sphere_between_equal_norms():
    z1 = torch.tensor([3.0, 0.0])
    z2 = torch.tensor([0.0, 3.0])
    mid = slerp(z1, z2, 0.5)
    assert torch.allclose(mid.norm(), torch.tensor(3.0)) and torch.allclose(mid, torch.full((2,), 3 / math.sqrt(2)))


def test_arithmetic_on_group_means():
    a, b, c = torch.ones(4, 3), torch.full((2, 3), 2.0), torch.full((5, 3), 5.0)
    assert torch.equal(arithmetic(a, b, c), torch.full((3,), 4.0))


def test_truncated_normal_stays_inside_the_threshold_and_shrinks_spread():
    g = torch.Generator().manual_seed(0)
    z = truncated_normal(4000, 16, threshold=0.5, generator=g)
    assert z.abs().max() <= 0.5 and z.shape == (4000, 16)
    assert z.std() < torch.randn(4000, 16, generator=g).std() / 2
    with pytest.raises(ValueError, match="accepted"):
        truncated_normal(2, 2, threshold=0)
