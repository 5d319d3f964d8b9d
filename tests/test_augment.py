"""DiffAugment, ADA and bCR (issue #19): each op against a closed form, draws only from the given generator, gradients
through every op, ADA's controller, bCR's value, and real training steps of GANModule with them."""

from __future__ import annotations

import itertools
import math
import signal

import pytest
import torch
import torch.distributed as dist
from hydra import compose, initialize_config_dir
from ranks import run_ranks
from test_resume import SignalAt

from ganlab.augment import POLICIES, AdaptiveAugment, BgcAugment, DiffAugment
from ganlab.callbacks.run_checkpoint import Preempted
from ganlab.common.errors import CONF_DIR
from ganlab.losses import DStep, GANLoss, Minimax
from ganlab.penalties import BalancedConsistency, LeCam
from ganlab.preflight.rules import AUGMENT_POLICIES, is_policy


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n=8, c=3, h=16, w=16, seed=0) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=gen(seed)) * 2 - 1


# ----------------------------------------------------------------------------------------------- DiffAugment
@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_shape_dtype_and_determinism(policy):
    x = images()
    augment = DiffAugment(policy)
    out = augment(x, gen(1))
    assert out.shape == x.shape and out.dtype == x.dtype and torch.isfinite(out).all()
    assert torch.equal(out, augment(x, gen(1)))  # same seed, same images
    assert not torch.equal(out, augment(x, gen(2)))  # another seed, others
    assert not torch.equal(out, x)


def test_translation_and_cutout_only_move_or_zero_pixels():
    x = images() + 3.0  # every pixel in [2, 4]: a 0 can only come from padding or the cut
    out = DiffAugment("translation,cutout")(x, gen(0))
    values = set(x.flatten().tolist()) | {0.0}
    assert set(out.flatten().tolist()) <= values


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_gradients_flow_to_the_input(policy):
    x = images().requires_grad_(True)
    weights = torch.randn(x.shape, generator=gen(5))
    (DiffAugment(policy)(x, gen(0)) * weights).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_translation_gradient_counts_the_pixels_that_stay_in():
    # d/dx Σ translate(x) = 1 at every input pixel that lands inside the image, 0 at those shifted out
    x = torch.zeros(6, 1, 16, 16, requires_grad=True)
    out = DiffAugment("translation")(x, gen(3))
    out.sum().backward()
    ones = DiffAugment("translation")(torch.ones(6, 1, 16, 16), gen(3))
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0}
    assert x.grad.sum(dim=(1, 2, 3)).tolist() == ones.sum(dim=(1, 2, 3)).tolist()


def test_brightness_shifts_a_constant_image_by_one_amount_per_sample():
    # one channel: saturation is the identity; a constant image has no contrast to scale: only brightness is left,
    # x + (r − 0.5) with r ~ U[0, 1) per sample
    x = torch.full((64, 1, 8, 8), 0.25)
    out = DiffAugment("color")(x, gen(0))
    shift = out - x
    per_sample = shift[:, :, :1, :1]
    assert torch.allclose(shift, per_sample.expand_as(shift), atol=1e-6)  # every pixel of a sample alike
    assert per_sample.min() >= -0.5 and per_sample.max() < 0.5
    assert per_sample.std() > 0.2  # spread over the interval (U[-0.5, 0.5): std 0.29), not one value


def test_contrast_scales_deviations_from_the_mean_by_r_plus_half():
    # one channel: y − mean(y) = k·(x − mean(x)) with k = r + 0.5 ∈ [0.5, 1.5) per sample
    x = images(n=64, c=1)
    out = DiffAugment("color")(x, gen(0))
    dev_x = x - x.mean(dim=(1, 2, 3), keepdim=True)
    dev_y = out - out.mean(dim=(1, 2, 3), keepdim=True)
    k = (dev_y * dev_x).sum(dim=(1, 2, 3)) / dev_x.pow(2).sum(dim=(1, 2, 3))
    assert torch.allclose(dev_y, k.view(-1, 1, 1, 1) * dev_x, atol=1e-5)
    assert k.min() >= 0.5 - 1e-6 and k.max() < 1.5 and k.std() > 0.2


def test_saturation_scales_deviations_from_the_channel_mean():
    # brightness adds to every channel, contrast scales by k: y − mean_c(y) = 2r·k·(x − mean_c(x)), 2r·k ∈ [0, 3);
    # a grey pixel (all channels equal) stays grey
    x = images(n=64, c=3)
    x[:, :, 0, 0] = 0.3
    out = DiffAugment("color")(x, gen(0))
    dev_x, dev_y = x - x.mean(1, keepdim=True), out - out.mean(1, keepdim=True)
    factor = (dev_y * dev_x).sum(dim=(1, 2, 3)) / dev_x.pow(2).sum(dim=(1, 2, 3))
    assert torch.allclose(dev_y, factor.view(-1, 1, 1, 1) * dev_x, atol=1e-5)
    assert factor.min() >= 0 and factor.max() < 3
    assert torch.allclose(out[:, 0, 0, 0], out[:, 2, 0, 0], atol=1e-6)


def test_color_is_the_reference_formula_with_the_generator_draws():
    # draw order: the group's per-sample gate, then brightness, saturation, contrast numbers (one per sample each)
    x = images(n=5)
    replay = gen(7)
    torch.rand(5, generator=replay)
    b, s, c = (torch.rand(5, 1, 1, 1, generator=replay) for _ in range(3))
    y = x + (b - 0.5)
    y = (y - y.mean(1, keepdim=True)) * (2 * s) + y.mean(1, keepdim=True)
    y = (y - y.mean((1, 2, 3), keepdim=True)) * (c + 0.5) + y.mean((1, 2, 3), keepdim=True)
    assert torch.allclose(DiffAugment("color")(x, gen(7)), y, atol=1e-6)


def moved(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x (C, H, W) with out[:, h, w] = x[:, h + dy, w + dx], zeros outside (by slicing)."""
    out = torch.zeros_like(x)
    _, h, w = x.shape
    out[:, max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = x[
        :, max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)
    ]
    return out


@pytest.mark.parametrize(("h", "w", "s_h", "s_w"), [(16, 16, 2, 2), (28, 28, 4, 4), (16, 24, 2, 3)])
def test_translation_moves_each_sample_by_at_most_an_eighth_with_zero_padding(h, w, s_h, s_w):
    x = torch.arange(1.0, 1.0 + 64 * 2 * h * w).view(64, 2, h, w)  # every value distinct, none zero
    out = DiffAugment("translation")(x, gen(0))
    shifts = []
    for i in range(64):
        found = [
            (dy, dx)
            for dy in range(-s_h, s_h + 1)
            for dx in range(-s_w, s_w + 1)
            if torch.equal(out[i], moved(x[i], dy, dx))
        ]
        assert len(found) == 1, f"sample {i} is not x shifted by at most ({s_h}, {s_w}) with zero padding"
        shifts += found
    rows, cols = zip(*shifts, strict=True)
    assert {min(rows), max(rows), min(cols), max(cols)} == {-s_h, s_h, -s_w, s_w}  # the whole range is drawn


@pytest.mark.parametrize(("size", "side"), [(16, 8), (13, 7), (28, 14)])
def test_cutout_zeroes_one_square_of_half_the_size_clipped_at_the_borders(size, side):
    x = torch.ones(64, 2, size, size)
    out = DiffAugment("cutout")(x, gen(0))
    full = 0
    for i in range(64):
        zero = out[i] == 0
        assert torch.equal(zero[0], zero[1])  # the same pixels in every channel
        rows = zero[0].any(1).nonzero().flatten().tolist()
        cols = zero[0].any(0).nonzero().flatten().tolist()
        assert rows == list(range(rows[0], rows[-1] + 1)) and cols == list(range(cols[0], cols[-1] + 1))
        assert zero[0].sum() == len(rows) * len(cols)  # a rectangle …
        for span in (rows, cols):  # … of the full side, or cut by a border (at least half of it inside)
            assert len(span) == side or (span[0] == 0 or span[-1] == size - 1) and len(span) >= side // 2
        full += len(rows) == len(cols) == side
    assert full > 0


def test_probability_zero_is_the_identity_and_one_always_augments():
    x = torch.ones(32, 1, 16, 16)
    assert torch.equal(DiffAugment(probability=0.0)(x, gen(0)), x)
    always = DiffAugment("cutout", probability=1.0)(x, gen(0))
    assert ((always == 0).flatten(1).any(1)).all()
    half = DiffAugment("cutout", probability=0.5)(torch.ones(400, 1, 8, 8), gen(0))
    assert 150 < (half == 0).flatten(1).any(1).sum() < 250


def test_probability_is_per_sample_and_per_op_group():
    # color then cutout on a constant image, p = 0.5: colour shows as a value ≠ 1 (it stays ≥ 0.5), the cut as zeros;
    # the gates are drawn per sample and per group, so all four combinations occur, each about a quarter of the time
    out = DiffAugment("color,cutout", probability=0.5)(torch.ones(400, 1, 8, 8), gen(0))
    coloured = ((out != 0) & (out != 1)).flatten(1).any(1)
    cut = (out == 0).flatten(1).any(1)
    for a, b in itertools.product((False, True), repeat=2):
        assert 60 < ((coloured == a) & (cut == b)).sum() < 140


def test_the_draws_do_not_depend_on_the_probability():
    # the same generator state after p = 0 as after p = 1: ADA's p may change without shifting later draws
    x = images()
    a, b = gen(0), gen(0)
    DiffAugment(probability=0.0)(x, a)
    DiffAugment(probability=1.0)(x, b)
    assert torch.equal(a.get_state(), b.get_state())


def test_bad_settings_are_refused():
    for policy in ("", "flip", "color,,cutout", []):
        with pytest.raises(ValueError, match="policy"):
            DiffAugment(policy)
    with pytest.raises(ValueError, match="probability"):
        DiffAugment(probability=1.5)
    with pytest.raises(ValueError, match="NCHW"):
        DiffAugment()(torch.zeros(4, 2), gen(0))
    assert DiffAugment(["color", "cutout"]).policy == DiffAugment("color, cutout").policy == ("color", "cutout")


def test_the_preflight_knows_the_same_policies():
    assert tuple(AUGMENT_POLICIES) == POLICIES
    assert is_policy("color,translation,cutout") and is_policy(["cutout"]) and is_policy("color, cutout")
    assert not any(is_policy(v) for v in ("", "flip", [], ["color", 3], 5, None))


# ------------------------------------------------------------------------------------------------------- ADA
def real_step(logits: list[float]) -> DStep:
    real_logits = torch.tensor(logits)
    real = torch.zeros(len(logits), 1, 4, 4)
    return DStep(lambda x: x, real, real, real_logits, real_logits, None, 0)


def test_ada_p_rises_while_d_is_overconfident_and_falls_otherwise():
    # batch 8, interval 4, 64 images from 0 to 1: p moves by 8·4/64 = 0.5 every 4th observation
    ada = AdaptiveAugment(interval=4, speed_images=64)
    overconfident, unsure = real_step([2.0] * 8), real_step([1.0] * 4 + [-1.0] * 4)  # E[sign] = 1 > 0.6, 0 < 0.6
    history = []
    for step in [overconfident] * 12 + [unsure] * 12:
        ada.observe(step)
        history.append(ada.p.item())
    assert history[:12] == [0, 0, 0, 0.5] + [0.5] * 3 + [1.0] * 5  # clamped at 1
    assert history[12:] == [1.0] * 3 + [0.5] * 4 + [0.0] * 5  # clamped at 0


def test_ada_measures_r_t_over_the_whole_interval():
    ada = AdaptiveAugment(interval=4, speed_images=64)
    ada.p.fill_(0.5)
    for step in [real_step([2.0] * 8)] * 3 + [real_step([-2.0] * 8)]:  # r_t = (3 − 1)/4 = 0.5 < 0.6 → down
        ada.observe(step)
    assert ada.p.item() == 0.0
    for _ in range(4):  # exactly at the target: p stays
        ada.observe(real_step([1.0] * 8 + [-1.0] * 2))  # E[sign] = 0.6
    assert ada.p.item() == 0.0
    assert ada.sign_count.item() == 0 and ada.images.item() == 0  # restarted after each update


def test_ada_state_is_in_the_state_dict_and_restores_the_controller():
    ada = AdaptiveAugment(interval=4, speed_images=64)
    for _ in range(6):
        ada.observe(real_step([2.0] * 8))
    state = ada.state_dict()
    assert {"p", "sign_sum", "sign_count", "images", "steps"} <= set(state)
    restored = AdaptiveAugment(interval=4, speed_images=64)
    restored.load_state_dict(state)
    for a in (ada, restored):
        for _ in range(2):
            a.observe(real_step([2.0] * 8))
    assert ada.p.item() == restored.p.item() == 1.0  # the 8th observation of the same sequence


def test_ada_keeps_the_last_r_t_for_the_logs():
    ada = AdaptiveAugment(interval=2, speed_images=64)
    ada.observe(real_step([2.0] * 8))
    assert ada.diagnostics()["ada_rt"].item() == 0.0  # no update yet
    ada.observe(real_step([2.0] * 4 + [-2.0] * 4))
    assert ada.diagnostics() == {"ada_p": ada.p, "ada_rt": ada.r_t}
    assert ada.r_t.item() == 0.5 and ada.p.item() == 0.0  # (8 + 0) / 16 < 0.6: p stays clamped at 0


def test_an_ada_state_saved_before_r_t_was_kept_still_restores():
    ada = AdaptiveAugment(interval=4, speed_images=64)
    for _ in range(5):
        ada.observe(real_step([2.0] * 8))
    old = {k: v for k, v in ada.state_dict().items() if k != "r_t"}
    restored = AdaptiveAugment(interval=4, speed_images=64)
    restored.load_state_dict(old)  # strict
    assert restored.p.item() == ada.p.item() and restored.r_t.item() == 0.0


def observe_all(ada: AdaptiveAugment, lecam: LeCam, rank: int = 0, world_size: int = 1) -> list[tuple]:
    """ADA and LeCam observing this rank's share of every batch of ``ada_batches``: (p, r_t, anchors) after each."""
    history = []
    for batch in ada_batches():
        share, fake_share = batch[rank::world_size], (-batch * torch.arange(1.0, 9.0))[rank::world_size]
        images = torch.zeros(share.numel(), 1, 4, 4)
        step = DStep(lambda x: x, images, images, share, fake_share, None, 0)
        ada.observe(step)
        lecam.observe(step)
        history.append((ada.p.item(), ada.r_t.item(), *lecam.anchors.tolist()))
    return history


def stateful_rank(rank: int, world_size: int, port: int, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        history = observe_all(AdaptiveAugment(interval=3, speed_images=96), LeCam(decay=0.5), rank, world_size)
        torch.save(history, f"{out}/{rank}.pt")
    finally:
        dist.destroy_process_group()


def ada_batches() -> list[torch.Tensor]:
    # rank 0 (even places) sees only positive logits, so its own r_t = 1 would only ever raise p; rank 1 sees k
    # positives, so the sum over both (r_t = k / 4) is above the target 0.6 for k = 4 and below it for k = 0, 1
    batches = []
    for k in [4] * 3 + [0] * 3 + [4] * 3 + [1] * 3:
        batch = torch.ones(8)
        batch[1::2] = torch.tensor([1.0] * k + [-1.0] * (4 - k))
        batches.append(batch * torch.linspace(0.5, 2.0, 8))
    return batches


def test_ada_and_lecam_under_ddp_follow_the_sums_over_all_ranks(tmp_path):
    """Two gloo ranks, each seeing half of every batch, hold the state one process seeing whole batches holds: ADA's
    p and r_t, LeCam's anchors (so a resume from rank 0's checkpoint continues every rank exactly)."""
    expected = observe_all(AdaptiveAugment(interval=3, speed_images=96), LeCam(decay=0.5))
    run_ranks(stateful_rank, 2, str(tmp_path))
    ranks = [torch.load(tmp_path / f"{rank}.pt", weights_only=True) for rank in (0, 1)]
    assert ranks[0] == ranks[1]  # the same state on every rank
    assert [h[0] for h in expected] == [0, 0, 0.25, 0.25, 0.25, 0, 0, 0, 0.25, 0.25, 0.25, 0]  # up, down, up, down
    assert [h[:2] for h in ranks[0]] == [h[:2] for h in expected]
    assert [h[2:] for h in ranks[0]] == [pytest.approx(h[2:], rel=1e-6, abs=1e-6) for h in expected]


def test_ada_p_is_the_augmentation_probability():
    ada, x = AdaptiveAugment("cutout"), torch.ones(16, 1, 8, 8)
    assert torch.equal(ada(x, gen(0)), x)  # p = 0: untouched
    ada.p.fill_(1.0)
    assert (ada(x, gen(0)) == 0).flatten(1).any(1).all()


def test_ada_observes_only_the_d_step():
    ada = AdaptiveAugment("translation", interval=1, speed_images=8)
    loss = GANLoss(Minimax(), augment=ada)
    loss.start(0, gen(0))
    real, fake = torch.ones(4, 1, 8, 8), -torch.ones(4, 1, 8, 8)
    loss.discriminator(lambda x: x.sum((1, 2, 3)) + 1, real, fake)  # the look-ahead: D(x) > 0, but not observed
    assert ada.p.item() == 0.0
    loss.discriminator(lambda x: x.sum((1, 2, 3)) + 1, real, fake, observe=True)
    assert ada.p.item() == 0.5 and ada.steps.item() == 1


def test_bad_ada_settings_are_refused():
    for kwargs, match in (({"target": 1.0}, "target"), ({"interval": 0}, "interval"), ({"speed_images": 0}, "speed")):
        with pytest.raises(ValueError, match=match):
            AdaptiveAugment(**kwargs)


# ------------------------------------------------------------------------------------------------------- bCR
def centred(n: int, seed: int) -> torch.Tensor:
    """Images whose content sits at least 4 pixels from every border (16 × 16, translations of ≤ 2 keep it in)."""
    x = torch.zeros(n, 1, 16, 16)
    x[:, :, 4:12, 4:12] = torch.rand(n, 1, 8, 8, generator=gen(seed))
    return x


def test_bcr_is_zero_for_a_translation_invariant_d():
    d = lambda x: 3.0 * x.sum((1, 2, 3))  # noqa: E731  (sums are unchanged by a shift that keeps the content in)
    step = DStep.of(d, centred(16, 0), centred(16, 1), gen(0))
    assert BalancedConsistency(weight=10.0)(step).item() == pytest.approx(0.0, abs=1e-4)
    # also through a bundle that translates too: D∘A stays invariant, bCR stays 0
    loss = GANLoss(Minimax(), penalties={"bcr": BalancedConsistency()}, augment=DiffAugment("translation"))
    loss.start(0, gen(0))
    out = loss.discriminator(d, centred(16, 0), centred(16, 1))
    assert out.penalties["bcr"].item() == pytest.approx(0.0, abs=1e-4)


def test_bcr_closed_form_with_a_linear_d_and_a_one_pixel_image():
    # D(x) = Σ column-index · x: one bright pixel in column j gives D = j, so D(x) − D(T(x)) = the column shift;
    # the shifts are read off where the pixel went (a twin generator replays T's draws)
    def one_pixel(n):
        x = torch.zeros(n, 1, 16, 16)
        x[:, :, 8, 8] = 1.0
        return x

    columns = torch.arange(16.0).view(1, 1, 1, 16)
    d = lambda x: (x * columns).sum((1, 2, 3))  # noqa: E731
    real, fake = one_pixel(32), one_pixel(24)
    twin, transform = gen(4), DiffAugment("translation")
    moved_cols = [transform(x, twin).sum((1, 2)).argmax(-1).flatten().float() for x in (real, fake)]
    expected = sum(((8.0 - cols) ** 2).mean() for cols in moved_cols)
    assert expected > 0
    bcr = BalancedConsistency(weight=10.0)
    assert bcr(DStep.of(d, real, fake, gen(4))).item() == pytest.approx(10.0 * expected.item(), rel=1e-6)
    lazy = BalancedConsistency(weight=10.0, every=3)
    assert lazy(DStep.of(d, real, fake, gen(4))).item() == pytest.approx(30.0 * expected.item(), rel=1e-6)


def test_bcr_trains_d_and_draws_from_the_generator():
    d = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real, fake = images(8, 1, 8, 8, seed=1), images(8, 1, 8, 8, seed=2)

    def value(seed):
        return BalancedConsistency()(DStep.of(lambda x: d(x).squeeze(1), real, fake, gen(seed)))

    value(0).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d[1].parameters())
    assert value(1).item() == value(1).item() != value(2).item()
    assert not BalancedConsistency.double_backward


# ------------------------------------------------------------------------------------- GANModule, composed
TINY = [
    "experiment=digits_dcgan",
    "data.batch_size=16",
    "logger=none",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "callbacks.sample_grid.n_samples=4",
    "callbacks.diagnostics=null",
]
# p moves by 16 images / 640 = 0.025 per D step
ADA_BCR = ["+loss/augment=ada", "loss.augment.interval=1", "loss.augment.speed_images=640", "+loss/penalty=bcr"]


def fit(run_dir, overrides: list[str], iterations: int, ckpt_path=None, signal_at=None, ada_p=None):
    """A composed run (validated as ganlab-train does); ``ada_p``: ADA's p at the start (it starts at 0 and an
    untrained D is not overconfident, so p would stay 0 and the augmentation idle)."""
    from ganlab.composition.build import build
    from ganlab.preflight.checks import validate

    overrides = [*TINY, *overrides, f"model.max_iterations={iterations}", f"paths.run_dir={run_dir}"]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    validate(cfg)
    datamodule, module, trainer = build(cfg)
    if ada_p is not None:
        module.loss.augment.p.fill_(ada_p)
    if signal_at:
        trainer.callbacks.insert(0, SignalAt(*signal_at))
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    return module


@pytest.mark.parametrize(
    "overrides",
    [["+loss/augment=diffaug"], ADA_BCR, ["+loss/augment=bgc", "loss.augment.probability=0.3"]],
    ids=["diffaug", "ada+bcr", "bgc-fixed"],
)
def test_a_gan_trains_with_augmentation(tmp_path, overrides):
    module = fit(tmp_path, overrides, iterations=2, ada_p=0.5 if "+loss/augment=ada" in overrides else None)
    assert module.iteration == 2
    _, metrics = module.last_logged
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    expected = BgcAugment if "+loss/augment=bgc" in overrides else DiffAugment
    assert isinstance(module.loss.augment, expected)
    if "+loss/augment=ada" in overrides:  # ADA's controller is in the logs
        assert metrics["train/ada_p"] == module.loss.augment.p.item()
        assert -1.0 <= metrics["train/ada_rt"] <= 1.0
    if "+loss/penalty=bcr" in overrides:
        assert metrics["train/d_penalty_bcr"] > 0
        assert module.loss.augment.steps.item() == 2  # observed once per D step
        assert module.loss.augment.p.item() in (pytest.approx(0.45), 0.5, pytest.approx(0.55))
        saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
        assert "loss.augment.p" in module.state_dict()
        assert torch.equal(saved["state_dict"]["loss.augment.p"], module.loss.augment.p)


def test_a_run_with_ada_and_bcr_resumes_exactly(tmp_path):
    # as tests/test_resume.py: interrupted by a real SIGTERM after iteration 2, resumed from its last.ckpt to 4
    straight = fit(tmp_path / "straight", ADA_BCR, iterations=4, ada_p=0.5)
    assert straight.loss.augment.p.item() != 0.5  # the controller moved
    with pytest.raises(Preempted):
        fit(tmp_path / "a", ADA_BCR, iterations=4, signal_at=(2, signal.SIGTERM), ada_p=0.5)
    resumed = fit(tmp_path / "b", ADA_BCR, iterations=4, ckpt_path=str(tmp_path / "a/checkpoints/last.ckpt"))
    assert resumed.iteration == 4 and resumed.loss.augment.steps.item() == 4
    a, b = straight.state_dict(), resumed.state_dict()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


def test_ada_counts_a_real_batch_shared_by_several_d_steps_once():
    """n_d = 2: both D steps' signs count, but the iteration's real batch counts once (ADA's reference counts real
    images drawn and its interval in iterations), so p moves as fast as with n_d = 1."""
    import dataclasses

    one, two = AdaptiveAugment(interval=4, speed_images=64), AdaptiveAugment(interval=4, speed_images=64)
    for _ in range(4):  # 4 iterations of batch 8
        one.observe(real_step([2.0] * 8))
        for d_step, logits in enumerate(([2.0] * 8, [-2.0] * 2 + [2.0] * 6)):
            two.observe(dataclasses.replace(real_step(logits), d_step=d_step))
    assert one.p.item() == two.p.item() == 0.5  # 4 · 8 images / 64 after 4 iterations, not 8 · 8 / 64
    assert two.r_t.item() == pytest.approx((3 * (8 + 4) + 8) / (3 * 16 + 8))  # iteration 4's 2nd step: next window
    assert two.sign_count.item() == 8 and two.images.item() == 0 and two.steps.item() == 4


def test_gan_module_tells_the_loss_which_d_step_it_is(tmp_path):
    """``model.d_steps=2``: GANModule passes each D step's index, so ADA counts the real batch once per iteration."""
    module = fit(tmp_path, ["+loss/augment=ada", "loss.augment.interval=1", "model.d_steps=2"], iterations=3)
    assert module.loss.augment.steps.item() == 3  # one per iteration, not per D step
