"""Published protocols as presets: PacGAN's simultaneous update and synthetic nets (ring_pacgan, grid_pacgan), Metz
et al.'s Stacked-MNIST setting (stacked_mnist_metz), BEGAN as its paper trains it (uniform z, lr halved on an
M_global plateau, skip connections): each engine option against a hand-made computation, each preset against the
reference code's settings."""

from __future__ import annotations

import copy
from functools import partial

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from fitting import quiet_trainer
from hydra import compose, initialize_config_dir
from torch.utils.data import DataLoader, TensorDataset

from ganlab.common.errors import CONF_DIR, ConfigError
from ganlab.losses import GANLoss, NonSaturating
from ganlab.modules import BEGANModule, GANModule
from ganlab.modules.began import BEGANLoss
from ganlab.nets import BEGANAutoencoder, BEGANGenerator, MLPDiscriminator, MLPGenerator
from ganlab.preflight.command_line import preflight
from ganlab.priors import draw_latent

LATENT, BATCH, LR = 4, 16, 0.05


def fit(module, batches: torch.Tensor, iterations: int) -> None:
    module.max_iterations = iterations
    quiet_trainer().fit(module, DataLoader(TensorDataset(batches), batch_size=BATCH, shuffle=False))


def real_points(n=BATCH * 2) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(7))


# --------------------------------------------------------------------------- simultaneous updates (PacGAN / ALI)
def gan_module(update: str, **kw) -> GANModule:
    torch.manual_seed(0)
    sgd = partial(torch.optim.SGD, lr=LR)
    return GANModule(
        MLPGenerator(latent_dim=LATENT, hidden=(8,)),
        MLPDiscriminator(hidden=(8,)),
        GANLoss(NonSaturating()),
        sgd,
        sgd,
        latent_dim=LATENT,
        noise_seed=5,
        update_rule=update,
        **kw,
    )


def test_simultaneous_step_takes_both_gradients_at_the_same_point():
    module = gan_module("simultaneous")
    g0, d0 = copy.deepcopy(module.generator), copy.deepcopy(module.discriminator)
    fit(module, real_points(), iterations=1)

    x = real_points()[:BATCH]
    z = torch.randn(BATCH, LATENT, generator=torch.Generator().manual_seed(5))  # one draw for both players
    fake = g0(z)
    d_loss = F.softplus(-d0(x)).mean() + F.softplus(d0(fake.detach())).mean()
    g_loss = F.softplus(-d0(fake)).mean()  # against D *before* its update
    d_grads = torch.autograd.grad(d_loss, list(d0.parameters()))
    g_grads = torch.autograd.grad(g_loss, list(g0.parameters()))
    for net, start, grads in ((module.discriminator, d0, d_grads), (module.generator, g0, g_grads)):
        for p, p0, g in zip(net.parameters(), start.parameters(), grads, strict=True):
            torch.testing.assert_close(p, p0 - LR * g, rtol=1e-5, atol=1e-7)

    # the alternating step differs: G sees the updated D and a second draw of z
    alternating = gan_module("alternating")
    fit(alternating, real_points(), iterations=1)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(alternating.generator.parameters(), module.generator.parameters(), strict=True)
    )


def test_simultaneous_step_unrolls_and_logs():
    module = gan_module("simultaneous", unroll_steps=2, unroll_mode="second_order")
    d0 = copy.deepcopy(module.discriminator)
    fit(module, real_points(), iterations=2)
    assert module.iteration == 2
    moved = [not torch.equal(a, b) for a, b in zip(module.discriminator.parameters(), d0.parameters(), strict=True)]
    assert all(moved)
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_simultaneous_update_takes_one_step_per_player():
    with pytest.raises(ValueError, match="one step per player"):
        gan_module("simultaneous", d_steps=2)
    with pytest.raises(ConfigError, match=r"model.update_rule=simultaneous .* model.d_steps=5"):
        preflight(["experiment=ring_pacgan", "model.d_steps=5"])
    with pytest.raises(ConfigError, match="update_rule"):
        preflight(["model.update_rule=sometimes"])


# --------------------------------------------------------------------------- latent priors
def test_uniform_prior_is_u_minus_one_one_and_used_everywhere():
    z = draw_latent(20000, 3, "uniform", torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1
    assert z.mean().abs() < 0.02 and (z.var() - 1 / 3).abs() < 0.01  # U[−1, 1]: mean 0, variance 1/3
    normal = draw_latent(20000, 3, "normal", torch.Generator().manual_seed(0))
    assert (normal.var() - 1).abs() < 0.05 and normal.abs().max() > 1
    with pytest.raises(ValueError, match="accepted: normal, uniform"):
        draw_latent(2, 2, "cauchy")
    module = gan_module("alternating", latent_prior="uniform")
    assert module.sample_latent(500).abs().max() <= 1  # training noise
    assert module.draw_latent(500, torch.Generator().manual_seed(1)).abs().max() <= 1  # evaluation latents
    with pytest.raises(ConfigError, match="model.latent_prior='cauchy' is invalid; accepted: normal, uniform"):
        preflight(["model.latent_prior=cauchy"])


# --------------------------------------------------------------------------- BEGAN as the paper trains it
SHAPE = (1, 16, 16)


def began_module(**kw) -> BEGANModule:
    torch.manual_seed(0)
    sgd = partial(torch.optim.SGD, lr=LR)
    return BEGANModule(
        BEGANGenerator(latent_dim=LATENT, out_shape=SHAPE, n=4, skip=kw.pop("skip", False)),
        BEGANAutoencoder(SHAPE, n=4, hidden=4),
        BEGANLoss(),
        sgd,
        sgd,
        latent_dim=LATENT,
        **kw,
    )


def test_began_skip_connections_feed_the_first_map_to_every_level():
    plain = BEGANGenerator(latent_dim=LATENT, out_shape=(1, 32, 32), n=4)
    skip = BEGANGenerator(latent_dim=LATENT, out_shape=(1, 32, 32), n=4, skip=True)
    decoder = skip.net[0]
    assert [block[0].in_channels for block in decoder.levels] == [4, 8, 8]  # levels after the first: n + n
    assert [block[0].in_channels for block in plain.net[0].levels] == [4, 4, 4]
    z = torch.randn(3, LATENT)
    assert skip(z).shape == plain(z).shape == (3, 1, 32, 32)
    # the skip path is live: changing only the first map's projection changes the last level's input
    captured = []
    decoder.levels[-1].register_forward_hook(lambda m, args, out: captured.append(args[0]))
    skip(z)
    assert captured[0].shape == (3, 8, 32, 32)
    first_map = F.interpolate(decoder.fc(z).view(3, 4, 8, 8), size=(32, 32), mode="nearest")
    torch.testing.assert_close(captured[0][:, 4:], first_map)


def test_began_halves_the_learning_rates_when_m_global_stalls(tmp_path):
    module = began_module(lr_plateau_window=2, lr_plateau_patience=0, lr_plateau_factor=0.5, latent_prior="uniform")
    history = []

    class Watch(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args):
            windows = pl_module._plateaus
            history.append((pl_module.optimizers()[0].optimizer.param_groups[0]["lr"], windows and windows[0].best))

    images = torch.rand(BATCH * 8, *SHAPE) * 2 - 1
    module.max_iterations = 8
    quiet_trainer(callbacks=[Watch()]).fit(module, DataLoader(TensorDataset(images), batch_size=BATCH))
    lrs = [lr for lr, _ in history]
    # a window mean (2 iterations) that is not lower than the best one halves both rates at once
    assert lrs[0] == LR and min(lrs) < LR
    g_lr = module.optimizers()[0].optimizer.param_groups[0]["lr"]
    d_lr = module.optimizers()[1].optimizer.param_groups[0]["lr"]
    assert g_lr == d_lr and g_lr in [LR * 0.5**i for i in range(1, 5)]
    assert all(b <= a for a, b in zip(lrs, lrs[1:], strict=False))
    # the plateau state and the running window are in the checkpoint
    path = tmp_path / "b.ckpt"
    module.trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    states = ckpt["ganlab"]["lr_plateau"]
    assert len(states) == 2 and states[0]["best"] == module._plateaus[0].best
    assert "m_window" in ckpt["state_dict"]
    restored = began_module(lr_plateau_window=2, lr_plateau_patience=0, lr_plateau_factor=0.5)
    restored.on_load_checkpoint(ckpt)
    assert restored._plateau_states[0]["num_bad_epochs"] == states[0]["num_bad_epochs"]


# --------------------------------------------------------------------------- the presets hold the protocols
@pytest.fixture
def hydra_conf():
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        yield


@pytest.mark.parametrize(("preset", "std", "modes"), [("ring_pacgan", 0.01, 8), ("grid_pacgan", 0.05, 25)])
@pytest.mark.parametrize("pack", [1, 2, 4])
def test_pacgan_presets_follow_the_reference_config(hydra_conf, preset, std, modes, pack):
    cfg = compose("train", overrides=[f"experiment={preset}", f"model.discriminator.pack={pack}"])
    assert cfg.data.batch_size == 100 * pack  # 100 packs of m real and m fake samples per iteration
    assert cfg.data.mixture_kwargs.std == std and cfg.data.pool_size == 100_000
    assert cfg.data.iterations_per_epoch == 1000 and cfg.model.max_iterations == 400_000
    assert cfg.model.update_rule == "simultaneous" and cfg.model.latent_dim == 2
    assert cfg.model.generator.hidden == [400] * 4 and cfg.model.generator.norm == "batch"
    assert cfg.model.discriminator.activation == "maxout" and cfg.model.discriminator.maxout_pieces == 5
    assert cfg.model.generator.init == cfg.model.discriminator.init == "dcgan"
    assert cfg.optim.generator.lr == cfg.optim.discriminator.lr == 1e-4
    assert list(cfg.optim.generator.betas) == [0.8, 0.999] and cfg.optim.scheduler_g is None
    assert cfg.loss.name == "non_saturating" and cfg.callbacks.mode_coverage.n_samples == 2500
    assert cfg.callbacks.mode_coverage.n_std == 3.0
    from ganlab.data import Toy2DDataModule

    assert Toy2DDataModule(mixture=cfg.data.mixture, mixture_kwargs=cfg.data.mixture_kwargs).mixture.n_modes == modes
    if preset == "ring_pacgan":
        assert cfg.data.mixture_kwargs.radius == 1.0


@pytest.mark.parametrize(("preset", "std", "modes"), [("ring_veegan", 0.01, 8), ("grid_veegan", 0.05, 25)])
def test_veegan_presets_follow_metz_et_al_reference_notebook(hydra_conf, preset, std, modes):
    """VEEGAN Table 1's GAN / Unrolled-GAN rows: poolio/unrolled_gan's "Unrolled GAN demo.ipynb" settings."""
    from ganlab.data import Toy2DDataModule

    cfg = compose("train", overrides=[f"experiment={preset}"])
    assert cfg.data.batch_size == 512 and cfg.data.mixture_kwargs.std == std
    assert cfg.data.pool_size is None  # the notebook samples the mixture at every step
    mixture = Toy2DDataModule(mixture=cfg.data.mixture, mixture_kwargs=cfg.data.mixture_kwargs).mixture
    assert mixture.n_modes == modes and len(torch.unique(mixture.centers, dim=0)) == modes  # distinct modes
    if preset == "ring_veegan":
        torch.testing.assert_close(mixture.centers.norm(dim=1), torch.ones(8))
    else:
        assert sorted(set(mixture.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert cfg.model.latent_dim == 256 and cfg.model.max_iterations == 25_000
    for net in (cfg.model.generator, cfg.model.discriminator):
        assert list(net.hidden) == [128, 128] and net.activation == "tanh"
        assert net.init == "orthogonal" and net.init_gain == 1.4
    assert cfg.model.update_rule == "simultaneous" and cfg.model.d_steps == cfg.model.g_steps == 1
    assert cfg.model.unroll_steps == 5 and cfg.model.unroll_mode == "second_order"
    assert cfg.model.unroll_surrogate == "game" and cfg.loss.name == "minimax" and not cfg.loss.penalties
    assert cfg.model.real_label == 1.0
    assert (cfg.optim.generator.lr, cfg.optim.discriminator.lr) == (1e-3, 1e-4)
    for opt in (cfg.optim.generator, cfg.optim.discriminator):
        assert opt._target_ == "torch.optim.Adam" and list(opt.betas) == [0.5, 0.999] and opt.eps == 1e-8
    assert cfg.optim.scheduler_g is None and cfg.optim.scheduler_d is None
    assert cfg.callbacks.mode_coverage.n_samples == 2500 and cfg.callbacks.mode_coverage.n_std == 3.0


def test_stacked_mnist_metz_preset_follows_the_reference_config(hydra_conf):
    cfg = compose("train", overrides=["experiment=stacked_mnist_metz"])
    assert cfg.model.latent_dim == 256 and cfg.data.batch_size == 128 and cfg.model.max_iterations == 500_000
    assert cfg.model.generator._target_.endswith("MetzGenerator")
    assert list(cfg.model.discriminator.widths) == [2, 4, 8] and cfg.model.discriminator.negative_slope == 0.3
    assert cfg.optim.discriminator.lr == 2e-4 and cfg.optim.generator.lr == 1e-4
    assert list(cfg.optim.generator.betas) == [0.5, 0.99]
    assert cfg.model.unroll_mode == "second_order"
    assert cfg.callbacks.metrics.n_samples == 25600 and "modes" in cfg.callbacks.metrics.metrics
    assert cfg.data.length // cfg.data.batch_size == 2000  # scored every 2 000 iterations, as the reference


# --------------------------------------------------------------------------- the protocol benchmark's bookkeeping
def test_protocol_benchmark_compares_with_the_published_rows_within_two_standard_errors(tmp_path):
    import sys

    sys.path.insert(0, str(CONF_DIR.parent))
    from experiments.bench import protocols

    def row(seed, modes, hq, kl):
        curve = [{"iteration": 1000, "modes": modes - 1, "hq": hq / 2, "mode_kl": kl * 2}]
        curve.append({"iteration": 2000, "modes": modes, "hq": hq, "mode_kl": kl})
        return {"preset": "grid_pacgan", "config": "pacgan4", "seed": seed, "iterations": 2000, "modes": modes,
                "hq": hq, "mode_kl": kl, "curve": curve, "ms_per_iteration": 100.0}  # fmt: skip

    # published PacGAN4 grid: 24.8 ± 0.2 modes, 93.6 ± 0.6 % HQ, KL 0.04 ± 0.01
    close = [row(0, 25, 93.0, 0.05), row(1, 25, 94.5, 0.03), row(2, 24, 93.9, 0.04)]
    table = protocols.summarise(close)
    assert "| grid_pacgan | pacgan4 | 2000 | 3 | 24.67 ± 0.33 (0.58) |" in table
    assert "yes, yes, yes" in table and "24.8 ± 0.2 / 93.6 ± 0.6 / 0.04 ± 0.01" in table
    far = [row(0, 20, 60.0, 0.5), row(1, 21, 62.0, 0.4), row(2, 19, 61.0, 0.6)]
    assert "no (Δ -4.80, 2 s.e. 1.22)" in protocols.summarise(far)
    assert protocols.mean_se_sd([1.0, 3.0]) == (2.0, 1.0, pytest.approx(2**0.5))
    protocols.plot_curves(close + far, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(
        "epoch,step,train/d_loss,val/hq,val/modes,val/mode_kl\n0,10,0.5,,,\n0,20,,3.5,7.0,0.9\n1,40,,8.0,18.0,\n"
    )
    assert protocols.read_curve(csv_path, 1000) == [
        {"iteration": 1000, "modes": 7.0, "hq": 3.5, "mode_kl": 0.9},
        {"iteration": 2000, "modes": 18.0, "hq": 8.0, "mode_kl": pytest.approx(float("nan"), nan_ok=True)},
    ]


def test_veegan_preset_with_tensorflow_adam_trains_second_order(hydra_conf):
    """optim=metz2d_tf: the reference's ε placement for both players, through the second-order look-ahead too."""
    from ganlab.composition.build import build_module
    from ganlab.optimizers import TFAdam

    cfg = compose("train", overrides=["experiment=ring_veegan", "optim=metz2d_tf", "model.unroll_steps=2"])
    module = build_module(cfg, record_config=False)
    optimizers = [entry["optimizer"] for entry in module.configure_optimizers()]
    assert all(isinstance(opt, TFAdam) for opt in optimizers)
    assert sorted(opt.param_groups[0]["lr"] for opt in optimizers) == [1e-4, 1e-3]
    fit(module, real_points(), iterations=2)
    assert module.iteration == 2 and all(torch.isfinite(p).all() for p in module.parameters())
