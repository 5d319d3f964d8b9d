"""Compose-time configuration: every preset composes and validates, loss options instantiate,
``preflight`` rejects bad command lines with one-line messages, and the report's flags translate."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from netconfigs import gan_losses

import ganlab.preflight.command_line
from ganlab import losses, penalties
from ganlab.common.errors import CONF_DIR, ConfigError
from ganlab.modules.began import BEGANLoss
from ganlab.preflight.checks import validate
from ganlab.preflight.command_line import preflight, translate_aliases

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
# GANModule's losses; loss=began goes with model=began only (test_began_loss_needs_the_began_model)
LOSSES = gan_losses()


@pytest.fixture
def hydra_conf():
    """An initialised Hydra pointing at ``conf/`` (cleared before and after)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(ganlab.preflight.command_line.CONF_DIR), version_base="1.3"):
        yield
    GlobalHydra.instance().clear()


def test_presets_are_found():
    assert "ring_unrolled" in EXPERIMENTS
    assert {"minimax", "non_saturating", "wgan", "wgan_gp"} <= set(LOSSES)


# --------------------------------------------------------------------------- experiments
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_validates(hydra_conf, name):
    cfg = compose("train", overrides=[f"experiment={name}"])
    validate(cfg)
    assert cfg.name == name


# --------------------------------------------------------------------------- losses
@pytest.mark.parametrize("name", LOSSES)
def test_loss_option_instantiates(hydra_conf, name):
    cfg = compose("train", overrides=[f"loss={name}"])
    validate(cfg)
    loss = instantiate(cfg.loss)
    assert isinstance(loss, losses.GANLoss)
    assert isinstance(loss.objective, losses.Objective)
    assert loss.name


def test_began_loss_needs_the_began_model(hydra_conf):
    cfg = compose("train", overrides=["experiment=mnist_began"])
    validate(cfg)
    loss = instantiate(cfg.loss)
    assert isinstance(loss, BEGANLoss) and (loss.gamma, loss.lambda_k) == (0.5, 0.001)
    with pytest.raises(ConfigError, match="loss=began needs BEGAN's autoencoder discriminator; accepted: model=began"):
        validate(compose("train", overrides=["loss=began"]))


@pytest.mark.parametrize(
    ("alias", "objective", "name"),
    [
        ("cross_entropy", losses.Minimax, "minimax"),
        ("minimax", losses.Minimax, "minimax"),
        ("non_saturated", losses.NonSaturating, "non_saturating"),
        ("non_saturating", losses.NonSaturating, "non_saturating"),
        ("mse", losses.LeastSquares, "lsgan"),
        ("lsgan", losses.LeastSquares, "lsgan"),
    ],
)
def test_loss_aliases(hydra_conf, alias, objective, name):
    loss = instantiate(compose("train", overrides=[f"loss={alias}"]).loss)
    # exact type: NonSaturating subclasses Minimax
    assert type(loss.objective) is objective
    assert loss.name == name
    assert len(loss.penalties) == 0 and loss.constraint is None and loss.augment is None


def test_wgan_has_weight_clipping(hydra_conf):
    loss = instantiate(compose("train", overrides=["loss=wgan"]).loss)
    assert isinstance(loss.objective, losses.Wasserstein)
    assert isinstance(loss.constraint, penalties.WeightClipping)
    assert loss.constraint.clip == pytest.approx(0.01)
    assert len(loss.penalties) == 0


def test_wgan_gp_has_gradient_penalty(hydra_conf):
    loss = instantiate(compose("train", overrides=["loss=wgan_gp"]).loss)
    assert isinstance(loss.objective, losses.Wasserstein)
    assert list(loss.penalties) == ["gp"] and isinstance(loss.penalties["gp"], penalties.GradientPenalty)
    assert loss.penalties["gp"].weight == pytest.approx(10.0) and loss.penalties["gp"].every == 1
    assert loss.constraint is None


# --------------------------------------------------------------------------- preflight
#: (argv, substrings the one-line message must contain)
BAD_ARGV = [
    pytest.param(["loss=bogus"], ["loss", "bogus", "non_saturating", "minimax"], id="unknown-loss"),
    pytest.param(["data=nope"], ["data", "nope", "ring", "grid"], id="unknown-data"),
    pytest.param(["model.unroll_steps=-1"], ["model.unroll_steps", "-1", "[0, 100]"], id="negative-unroll"),
    pytest.param(["model.d_steps=0"], ["model.d_steps", "0", "[1, 100]"], id="zero-d-steps"),
    pytest.param(
        ["model.unroll_mode=third_order"],
        ["model.unroll_mode", "third_order", "first_order", "second_order"],
        id="bad-unroll-mode",
    ),
    pytest.param(["model.foo=1"], ["model.foo", "1", "unroll_steps", "d_steps"], id="unknown-key"),
    pytest.param(["ckpt_path=/nonexistent.ckpt"], ["ckpt_path", "/nonexistent.ckpt"], id="missing-ckpt"),
    pytest.param(["-m", "loss=minimax,bogus"], ["loss", "bogus", "non_saturating"], id="multirun-bad-loss"),
    pytest.param(["model.generator.init=bogus"], ["init='bogus'", "default", "dcgan", "orthogonal"], id="bad-init"),
    pytest.param(
        ["model.discriminator.init=dcgan", "model.discriminator.init_gain=2"],
        ["init_gain=2", "orthogonal or xavier only"],
        id="gain-without-a-gained-init",
    ),
    pytest.param(
        ["experiment=grid_pacgan", "model.discriminator.maxout_pieces=1"],
        ["maxout_pieces=1", "an integer >= 2"],
        id="one-piece-maxout",
    ),
    pytest.param(["experiment=ring_pacgan", "model.g_steps=2"], ["update_rule=simultaneous", "g_steps=2"], id="simul"),
    pytest.param(
        ["experiment=digits_dcgan", "trainer=ddp_cpu", "trainer.sync_batchnorm=true", "loss=wgan_gp"],
        ["trainer.sync_batchnorm=true", "loss=wgan_gp", "double backward", "accepted"],
        id="syncbn-with-gradient-penalty",
    ),
    pytest.param(
        ["-m", "trainer=ddp_cpu", "loss=minimax,non_saturating"],
        ["local multirun", "hydra/launcher=slurm"],
        id="local-multirun-with-ddp",
    ),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_ARGV)
def test_preflight_rejects_with_one_line(argv, expected):
    with pytest.raises(ConfigError) as info:
        preflight(argv)
    message = str(info.value)
    assert message.strip(), "empty error message"
    assert "\n" not in message, f"message is not one line: {message!r}"
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_preflight_accepts_multirun_sweep():
    argv = ["-m", "loss=minimax,hinge", "model.unroll_steps=0,2"]
    assert preflight(argv) == argv


def test_preflight_accepts_defaults():
    assert preflight([]) == []


REPORT_ARGV = ["-k", "4", "-ds=2", "-gs", "5", "-l", "cross_entropy"]
REPORT_OVERRIDES = ["model.unroll_steps=4", "model.d_steps=2", "model.g_steps=5", "loss=cross_entropy"]


def test_translate_aliases():
    assert translate_aliases(REPORT_ARGV) == REPORT_OVERRIDES


def test_translate_aliases_keeps_other_args():
    assert translate_aliases(["-m", "-k=1", "seed=3"]) == ["-m", "model.unroll_steps=1", "seed=3"]


def test_translate_aliases_missing_value():
    with pytest.raises(ConfigError) as info:
        translate_aliases(["-k"])
    assert "\n" not in str(info.value)
    assert "model.unroll_steps" in str(info.value)


def test_preflight_accepts_report_flags():
    assert preflight(REPORT_ARGV) == REPORT_OVERRIDES


# --------------------------------------------------------------------------- initialisation per preset
#: Presets on the DCGAN nets or a published protocol's nets: N(0, 0.02²) initialisation, as their references.
DCGAN_INIT = {"mnist_dcgan", "cifar10_dcgan", "celeba_dcgan", "digits_dcgan", "ring_pacgan", "grid_pacgan",
              "stacked_mnist_metz"}  # fmt: skip
#: Presets on Metz et al.'s reference notebook's nets (VEEGAN Table 1): orthogonal weights, gain 1.4.
ORTHOGONAL_INIT = {"ring_veegan", "grid_veegan"}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_preset_states_its_initialisation(hydra_conf, name):
    cfg = compose("train", overrides=[f"experiment={name}"])
    nets = [key for key in ("generator", "discriminator", "encoder", "decoder", "classifier") if key in cfg.model]
    inits = {key: cfg.model[key].get("init") for key in nets if "_target_" in cfg.model[key]}
    if not inits:  # the classifier presets train a domain classifier, not a generative model
        assert name.startswith("classifier_")
        return
    assert all(scheme in ("default", "dcgan", "orthogonal", "xavier") for scheme in inits.values()), inits
    expected = "dcgan" if name in DCGAN_INIT else "orthogonal" if name in ORTHOGONAL_INIT else "default"
    assert set(inits.values()) == {expected}, f"{name}: {inits}"
    if expected == "orthogonal":
        assert {cfg.model[key].init_gain for key in inits} == {1.4}, name
