"""Normalisation in D against per-sample techniques (issue #34): BatchNorm couples the samples' input gradients, so
a gradient penalty on a BatchNorm D is refused in one line; spectral norm with BatchNorm is said in one line."""

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import nn

from ganlab.common.errors import CONF_DIR, ConfigError
from ganlab.nets import ConvDiscriminator
from ganlab.preflight import norm_rules
from ganlab.preflight.command_line import preflight


def coupling(norm: str) -> float:
    """‖∂ΣD/∂x_i − ∂D(x_i)/∂x_i‖ / ‖∂D(x_i)/∂x_i‖ over a batch of 16 on the DCGAN D (28 × 28): the gradient a
    penalty takes (of the batch sum) against each sample's own (the diagonal blocks of the Jacobian)."""
    torch.manual_seed(0)
    d = ConvDiscriminator(in_shape=(1, 28, 28), widths={28: [64, 128]}, norm=norm).train()
    x = torch.randn(16, 1, 28, 28, requires_grad=True)
    summed = torch.autograd.grad(d(x).sum(), x)[0]
    own = torch.stack([torch.autograd.grad(d(x)[i], x, retain_graph=False)[0][i] for i in range(16)])
    return ((summed - own).norm() / own.norm()).item()


def test_batchnorm_couples_the_input_gradients_and_layer_norm_does_not():
    assert coupling("batch") > 0.05  # 14.6 % with this seed (the review measured 14 %)
    assert coupling("layer") < 1e-5 and coupling("none") < 1e-5


@pytest.mark.parametrize(
    "overrides",
    [["loss=wgan_gp"], ["loss=dragan"], ["+loss/penalty=r1"], ["+loss/penalty=r2"]],
)
def test_a_gradient_penalty_on_a_batchnorm_d_is_refused_in_one_line(overrides):
    with pytest.raises(ConfigError) as refused:
        preflight(["experiment=digits_dcgan", *overrides, "logger=none"])
    message = str(refused.value)
    assert "\n" not in message and "model.discriminator.norm=batch" in message
    assert "model.discriminator.norm=layer (WGAN-GP's critic), instance or none" in message
    preflight(["experiment=digits_dcgan", *overrides, "model.discriminator.norm=layer", "logger=none"])


def test_lecam_and_bcr_need_no_per_sample_gradient():
    preflight(["experiment=digits_dcgan", "+loss/penalty=[lecam,bcr]", "logger=none"])


def test_spectral_norm_with_batchnorm_says_so_once(capsys):
    norm_rules._SAID.clear()
    for _ in range(2):
        preflight(["experiment=digits_dcgan", "model.discriminator.spectral_norm=true", "logger=none"])
    lines = [line for line in capsys.readouterr().err.splitlines() if "not Lipschitz-bounded" in line]
    assert len(lines) == 1 and "model.discriminator.norm=batch" in lines[0]
    preflight(["experiment=digits_dcgan", "model.discriminator.spectral_norm=true", "model.discriminator.norm=none"])
    assert "not Lipschitz-bounded" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("discriminator", "overrides", "norm", "spectral"),
    [("dcgan_sn", ["loss=hinge"], "none", True), ("dcgan_ln", ["loss=wgan_gp"], "layer", False)],
)
def test_the_per_sample_d_presets_run_what_their_papers_run(capsys, discriminator, overrides, norm, spectral):
    """Miyato et al.'s SN D and Gulrajani et al.'s critic: no BatchNorm, so neither the note nor the refusal."""
    norm_rules._SAID.clear()
    argv = ["experiment=digits_dcgan", f"model/discriminator={discriminator}", *overrides, "logger=none"]
    preflight(argv)
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=argv)
    assert (cfg.model.discriminator.norm, cfg.model.discriminator.spectral_norm) == (norm, spectral)
    assert "not Lipschitz-bounded" not in capsys.readouterr().err
    d = instantiate(cfg.model.discriminator)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules())
    layer_norms = [m for m in d.modules() if isinstance(m, nn.GroupNorm) and m.num_groups == 1]  # over (C, H, W)
    assert len(layer_norms) == (1 if norm == "layer" else 0)
    weighted = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == 3 and all(hasattr(m, "parametrizations") == spectral for m in weighted)
