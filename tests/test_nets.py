"""Architectures: shapes from the YAML configs, parameter counts and refused sizes (discriminator options and
conditioning: test_net_options.py)."""

import pytest
import torch
from netconfigs import LATENT, build, construct
from torch import nn

from ganlab.nets import M1Generator, ShapeError

GENERATOR_SIZES = {
    "mlp": [28, 32],
    "conv": [32, 64],
    "dcgan": [28, 32, 64],
    "m1": [28],
    "celeba_seed": [64],
    "infogan": [28, 32, 64],
    "began": [28, 32, 64],
}
DISCRIMINATOR_SIZES = {**{k: v for k, v in GENERATOR_SIZES.items() if k != "m1"}, "m3": [28]}


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def params(table):
    return [
        pytest.param(name, size, c, id=f"{name}-{c}x{size}x{size}")
        for name, sizes in table.items()
        for size in sizes
        for c in (1, 3)
    ]


# ----------------------------------------------------------------- shapes from the configs
@pytest.mark.parametrize(("name", "size", "channels"), params(GENERATOR_SIZES))
def test_generator_config_output_shape_and_tanh_range(name, size, channels):
    torch.manual_seed(0)
    g = build("generator", name, (channels, size, size))
    z = torch.randn(3, LATENT)
    with torch.no_grad():
        out = g(z)
        assert out.shape == (3, channels, size, size)
        assert torch.isfinite(out).all() and out.abs().max() <= 1.0
        # blow the weights up so that the pre-activation is far outside [-1, 1]: only a tanh keeps it bounded
        for p in g.parameters():
            p.mul_(20.0)  # ×20: enough for N(0, 0.02²)-initialised nets (init: dcgan) too
        big = g(z)
    assert torch.isfinite(big).all() and big.abs().max() <= 1.0
    assert (big.abs() > 0.99).float().mean() > 0.5, "the scaled output did not saturate: the range check is void"


@pytest.mark.parametrize(("name", "size", "channels"), params(DISCRIMINATOR_SIZES))
def test_discriminator_config_output_shape(name, size, channels):
    torch.manual_seed(0)
    d = build("discriminator", name, (channels, size, size))
    x = torch.rand(3, channels, size, size) * 2 - 1
    with torch.no_grad():
        out = d(x)
    expected = (3, channels, size, size) if name == "began" else (3,)  # BEGAN's D is an autoencoder
    assert out.shape == expected
    assert torch.isfinite(out).all()


def test_course_report_parameter_counts():
    assert n_params(M1Generator(latent_dim=50, out_shape=(1, 28, 28))) == 675_025
    assert n_params(build("generator", "m1", (1, 28, 28), latent_dim=50)) == 675_025
    assert n_params(build("discriminator", "m3", (1, 28, 28))) == 1_460_225
    # the count is the report's architecture, not a coincidence of the defaults: other shapes give other counts
    assert n_params(M1Generator(latent_dim=100, out_shape=(1, 28, 28))) == 675_025 + 50 * 64
    assert n_params(build("discriminator", "m3", (3, 28, 28))) == 1_460_225 + 2 * 784 * 1024


# ----------------------------------------------------------------- refused shapes
@pytest.mark.parametrize(
    ("kind", "name", "shape", "message"),
    [
        ("generator", "conv", (1, 28, 28), "supported image sizes: 32, 64"),
        ("discriminator", "conv", (3, 28, 28), "supported image sizes: 32, 64"),
        ("generator", "dcgan", (1, 16, 16), "supported image sizes: 28, 32, 64"),
        ("discriminator", "dcgan", (1, 48, 48), "supported image sizes: 28, 32, 64"),
        ("generator", "celeba_seed", (3, 32, 32), "supported image sizes: 64"),
        ("discriminator", "celeba_seed", (3, 28, 28), "supported image sizes: 64"),
        ("generator", "m1", (1, 32, 32), "supported image sizes: 28"),
        ("generator", "infogan", (1, 30, 30), "28, 32, 64"),
        ("discriminator", "infogan", (3, 30, 30), "28, 32, 64"),
        ("generator", "began", (1, 8, 8), "28, 32, 64"),
        ("discriminator", "began", (1, 7, 7), "28, 32, 64"),
    ],
)
def test_unsupported_sizes_raise_shape_error_naming_supported_sizes(kind, name, shape, message):
    with pytest.raises(ShapeError) as info:
        construct(kind, name, shape)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)  # callers that catch ValueError still see it


@pytest.mark.parametrize(
    ("kind", "name"),
    [("generator", "conv"), ("discriminator", "dcgan"), ("generator", "infogan"), ("discriminator", "began")],
)
def test_non_square_images_raise_shape_error(kind, name):
    with pytest.raises(ShapeError, match="square"):
        construct(kind, name, (1, 32, 64))


def test_widths_that_cannot_reach_the_size_are_refused():
    with pytest.raises(ShapeError, match="supported image sizes: 28"):
        construct("generator", "dcgan", (1, 28, 28), widths={28: [64, 32, 16]})  # 28 / 2³ is not an integer


def test_m1_refuses_non_28_even_with_the_right_channels():
    with pytest.raises(ShapeError, match="28"):
        M1Generator(latent_dim=50, out_shape=(3, 28, 32))


# ----------------------------------------------------------------- minibatch layers
