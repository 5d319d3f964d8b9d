"""The GAN engine: every loss × unrolling mode trains, counters, RNG and checkpoints."""

import copy
from functools import partial

import pytest
import pytorch_lightning as pl
import torch
from netconfigs import gan_losses, make_loss

from ganlab.data import Toy2DDataModule
from ganlab.modules import GANModule
from ganlab.nets import MLPDiscriminator, MLPGenerator

# every adversarial loss of GANModule (loss=began belongs to BEGANModule: tests/test_began.py)
LOSSES = gan_losses()
MODES = [(0, "first_order"), (2, "first_order"), (2, "second_order")]


def make_module(loss="non_saturating", unroll_steps=0, unroll_mode="first_order", optimizer=None, **kw):
    optimizer = optimizer or partial(torch.optim.Adam, lr=1e-3, betas=(0.5, 0.999))
    torch.manual_seed(0)
    return GANModule(
        MLPGenerator(latent_dim=16, hidden=(32, 32)),
        MLPDiscriminator(hidden=(32, 32)),
        make_loss(loss),
        optimizer,
        optimizer,
        latent_dim=16,
        unroll_steps=unroll_steps,
        unroll_mode=unroll_mode,
        **kw,
    )


def fit(module, iterations=3, ckpt_path=None, **trainer_kw):
    module.max_iterations = iterations
    dm = Toy2DDataModule(batch_size=32, iterations_per_epoch=max(iterations, 1), pool_size=512)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        **({"enable_checkpointing": False} | trainer_kw),
    )
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    return trainer


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(("k", "mode"), MODES, ids=["k0", "first_order_k2", "second_order_k2"])
def test_every_loss_and_unroll_mode_trains(loss, k, mode):
    module = make_module(loss, k, mode)
    g_before = copy.deepcopy(module.generator.state_dict())
    d_before = copy.deepcopy(module.discriminator.state_dict())
    trainer = fit(module, iterations=3)
    assert module.iteration == 3
    for net, before in ((module.generator, g_before), (module.discriminator, d_before)):
        after = net.state_dict()
        assert all(torch.isfinite(v).all() for v in after.values())
        assert any(not torch.equal(after[k], before[k]) for k in before), "parameters did not move"
    logged = trainer.callback_metrics
    assert {
        "train/d_loss",
        "train/g_loss",
        "train/d_real",
        "train/d_fake",
        "train/grad_norm_d",
        "train/grad_norm_g",
    } <= set(logged)
    if module.loss.constraint is not None:
        assert all(p.abs().max() <= module.loss.constraint.clip for p in module.discriminator.parameters())


@pytest.mark.parametrize(("d_steps", "g_steps"), [(1, 1), (2, 1), (1, 5), (2, 5)])
def test_step_counts_per_batch(d_steps, g_steps):
    module = make_module(d_steps=d_steps, g_steps=g_steps)
    trainer = fit(module, iterations=2)
    opt_g, opt_d = (o.optimizer if hasattr(o, "optimizer") else o for o in trainer.optimizers)
    assert module.iteration == 2
    assert opt_d.state[next(iter(module.discriminator.parameters()))]["step"].item() == 2 * d_steps
    assert opt_g.state[next(iter(module.generator.parameters()))]["step"].item() == 2 * g_steps
    # Lightning's global_step counts optimizer steps, which is why the module counts iterations itself
    assert trainer.global_step == 2 * (d_steps + g_steps)


@pytest.mark.parametrize("mode", ["first_order", "second_order"])
def test_module_lookahead_leaves_discriminator_and_optimizer_untouched(mode):
    module = make_module(unroll_steps=3, unroll_mode=mode)
    fit(module, iterations=2)
    opt_d = module.trainer.optimizers[1]
    d_before = copy.deepcopy(module.discriminator.state_dict())
    o_before = copy.deepcopy(opt_d.state_dict())
    real = torch.randn(32, 2)
    d_fn = module._lookahead_discriminator(real, module.sample(32))
    assert not torch.allclose(d_fn(real), module.discriminator(real))
    for k, v in module.discriminator.state_dict().items():
        assert torch.equal(v, d_before[k])
    for pid, st in o_before["state"].items():
        for key, value in st.items():
            assert torch.equal(opt_d.state_dict()["state"][pid][key], value)


def test_separate_learning_rates_and_schedulers_are_stepped():
    sched = partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    module = GANModule(
        MLPGenerator(latent_dim=8, hidden=(16,)),
        MLPDiscriminator(hidden=(16,)),
        make_loss("hinge"),
        partial(torch.optim.Adam, lr=1e-3),
        partial(torch.optim.RMSprop, lr=4e-4),
        latent_dim=8,
        scheduler_g=sched,
        scheduler_d=sched,
    )
    trainer = fit(module, iterations=3)
    opt_g, opt_d = trainer.optimizers
    assert opt_g.param_groups[0]["lr"] == pytest.approx(1e-3 / 8)
    assert opt_d.param_groups[0]["lr"] == pytest.approx(4e-4 / 8)
    assert type(opt_d).__name__ == "RMSprop"


def test_gradient_clipping_bounds_the_update():
    lr = 1.0
    module = make_module(loss="lsgan", optimizer=partial(torch.optim.SGD, lr=lr), grad_clip_g=1e-3, grad_clip_d=1e-3)
    g0 = torch.cat([p.detach().flatten() for p in module.generator.parameters()])
    fit(module, iterations=1)
    g1 = torch.cat([p.detach().flatten() for p in module.generator.parameters()])
    assert (g1 - g0).norm() <= lr * 1e-3 * 1.0001


def test_unsupported_optimizer_is_rejected_when_unrolling():
    module = make_module(unroll_steps=2, optimizer=partial(torch.optim.Adagrad, lr=1e-2))
    with pytest.raises(ValueError, match="Adagrad"):
        fit(module, iterations=1)


def test_noise_generator_is_dedicated_and_seeded():
    a, b = make_module(noise_seed=7), make_module(noise_seed=7)
    torch.manual_seed(123)
    za = a.sample_latent(4)
    torch.manual_seed(456)  # the global RNG does not matter
    assert torch.equal(za, b.sample_latent(4))
    assert not torch.equal(za, make_module(noise_seed=8).sample_latent(4))


def test_checkpoint_round_trip_restores_iteration_and_noise(tmp_path):
    module = make_module(unroll_steps=1)
    ckpt_cb = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    fit(module, iterations=4, enable_checkpointing=True, callbacks=[ckpt_cb])
    ckpt = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert ckpt["ganlab"]["iteration"] == 4
    expected_next = module.sample_latent(3)  # the stream position at save time, consumed here
    restored = make_module(unroll_steps=1)
    restored.on_load_checkpoint(ckpt)
    assert restored.iteration == 4
    device_type, state, rank_states = restored._noise_restore
    restored.noise.set_state(state)
    assert device_type == "cpu" and rank_states is None  # one process: no per-rank states
    assert torch.equal(restored.sample_latent(3), expected_next)
    resumed = make_module(unroll_steps=1)
    fit(resumed, iterations=6, ckpt_path=str(tmp_path / "last.ckpt"))
    assert resumed.iteration == 6


def test_real_label_smoothing_reaches_the_loss():
    module = make_module(real_label=0.9)
    seen = []
    original = module.loss.objective.d_loss
    module.loss.objective.d_loss = lambda r, f, real_label=1.0: seen.append(real_label) or original(r, f, real_label)
    fit(module, iterations=1)
    assert seen and set(seen) == {0.9}


def test_training_length_in_iterations_bounds_epochs_and_stops_mid_epoch():
    module = make_module()
    module.max_iterations = 45
    dm = Toy2DDataModule(batch_size=16, iterations_per_epoch=20, pool_size=256)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=dm)
    assert module.iteration == 45 and trainer.max_epochs == 3 and trainer.current_epoch == 3


def test_lightnings_hook_name_skips_module_checks_and_other_attributes_keep_them(monkeypatch):
    """Lightning sets ``_current_fx_name`` around every hook (44 times per ring iteration): a plain attribute set, while
    parameters, submodules and other attributes still go through ``nn.Module.__setattr__``."""
    module = make_module()
    probe, seen = torch.nn.Linear(1, 1), []
    original = torch.nn.Module.__setattr__

    def spy(self, name, value):
        seen.append(name)
        original(self, name, value)

    monkeypatch.setattr(torch.nn.Module, "__setattr__", spy)
    module._current_fx_name = "training_step"
    module.probe = probe
    module.scale = torch.nn.Parameter(torch.ones(()))
    assert seen == ["probe", "scale"] and module._current_fx_name == "training_step"
    assert "probe" in module._modules and "scale" in module._parameters
    fit(module, iterations=2)  # Lightning's hook names still steer self.log
    assert module.iteration == 2 and module._current_fx_name is None
