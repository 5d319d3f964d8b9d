"""Weight initialisation as a network option (``init: default | dcgan | orthogonal | xavier`` and ``init_gain``,
ganlab/nets/init.py) on every shipped architecture, and the layers the PacGAN and Metz presets are made of:
Maxout, the MLP bodies with norm/maxout, the PacGAN MLP pair and the Metz Stacked-MNIST pair.

Every YAML of conf/model/generator and conf/model/discriminator is found by glob (a new architecture is covered
without editing this file) and built for the first image shape it accepts; the nets written inline in
conf/model/{ae,gan_mlp2d,gan_pacgan}.yaml are added by hand. Statistical bounds are 5 standard errors of the
statistic (per tensor, and on all weights pooled), or 7 standard deviations for a single element.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class
from netconfigs import LATENT, config
from omegaconf import OmegaConf
from torch import nn

import ganlab.nets.init as init_module
from ganlab.common.errors import CONF_DIR
from ganlab.nets import (
    BEGANAutoencoder,
    ConvEncoder,
    MetzDiscriminator,
    MetzGenerator,
    MLPDiscriminator,
    MLPGenerator,
    ShapeError,
)
from ganlab.nets.init import Initialised
from ganlab.nets.layers import Maxout, MinibatchDiscrimination, mlp, mlp_body

MODEL_DIR = Path(CONF_DIR) / "model"
#: Shapes tried in order for a YAML network: the first one it builds for is used.
CANDIDATE_SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64)]
#: Networks written inside a model YAML: (file, key, data shape).
INLINE_NETS = [
    ("ae.yaml", "encoder", (1, 28, 28)),
    ("ae.yaml", "decoder", (1, 28, 28)),
    ("gan_mlp2d.yaml", "generator", (2,)),
    ("gan_mlp2d.yaml", "discriminator", (2,)),
    ("gan_pacgan.yaml", "generator", (2,)),
    ("gan_pacgan.yaml", "discriminator", (2,)),
]
DCGAN_STD = 0.02

# The test's own layer classification (not the library's, so that a layer type it forgets is noticed).
WEIGHTED = (nn.Linear, nn.modules.conv._ConvNd)
NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
OWN_INIT = (nn.Embedding, MinibatchDiscrimination)


# ----------------------------------------------------------------- networks and their configs
def yaml_net_ids() -> list[str]:
    return [
        f"{kind}/{path.stem}"
        for kind in ("generator", "discriminator")
        for path in sorted((MODEL_DIR / kind).glob("*.yaml"))
    ]


def inline_config(file: str, key: str, shape) -> dict:
    """``key`` of conf/model/<file> with ``${model.latent_dim}`` (the file's own) and ``${data.shape}`` filled."""
    raw = OmegaConf.to_container(OmegaConf.load(MODEL_DIR / file), resolve=False)
    values = {"${model.latent_dim}": raw.get("latent_dim", LATENT), "${data.shape}": list(shape)}
    cfg = {k: values.get(v, v) if isinstance(v, str) else v for k, v in raw[key].items()}
    assert "${" not in str(cfg), cfg
    return cfg


@cache
def net_config(net_id: str) -> dict:
    """The constructor config of a network id: ``kind/name`` for a YAML file, ``file:key`` for an inline net."""
    if ":" in net_id:
        file, key = net_id.split(":")
        (shape,) = [s for f, k, s in INLINE_NETS if (f, k) == (file, key)]
        return inline_config(file, key, shape)
    kind, name = net_id.split("/")
    for shape in CANDIDATE_SHAPES:
        cfg = config(kind, name, shape)
        try:
            make(cfg)
        except ShapeError:
            continue
        return cfg
    raise AssertionError(f"{net_id} builds for none of {CANDIDATE_SHAPES}: add a shape it supports")


NET_IDS = yaml_net_ids() + [f"{file}:{key}" for file, key, _ in INLINE_NETS]


def make(cfg: dict, seed: int = 0, **overrides) -> nn.Module:
    """The network of ``cfg`` (its class called directly) with ``overrides``, built after ``manual_seed(seed)``."""
    kwargs = {k: v for k, v in cfg.items() if k != "_target_"} | overrides
    torch.manual_seed(seed)
    return get_class(cfg["_target_"])(**kwargs)


def without_init(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in ("init", "init_gain")}


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# ----------------------------------------------------------------- layers and statistics
def checked_layers(net: nn.Module) -> tuple[list[nn.Module], list[nn.Module]]:
    """(conv/linear layers, affine norm layers); asserts that they and the own-init modules own every parameter."""
    weighted = [m for m in net.modules() if isinstance(m, WEIGHTED)]
    norms = [m for m in net.modules() if isinstance(m, NORMS) and getattr(m, "weight", None) is not None]
    owners = weighted + norms + [m for m in net.modules() if isinstance(m, OWN_INIT)]
    covered = {id(p) for m in owners for p in m.parameters()}
    stray = [name for name, p in net.named_parameters() if id(p) not in covered]
    assert not stray, f"parameters outside conv/linear/norm layers, unknown to this test: {stray}"
    assert weighted, "no conv/linear layer found: the checks would be void"
    return weighted, norms


def assert_normal(t: torch.Tensor, mean: float, std: float, what: str) -> None:
    """``t`` looks like i.i.d. N(mean, std²): every element within 7σ, mean within 5 SE, sample std within 5 SE."""
    x = t.detach().double().flatten()
    n = x.numel()
    assert (x - mean).abs().max() < 7 * std, f"{what}: an element is > 7σ from {mean}"
    assert abs(x.mean().item() - mean) < 5 * std / math.sqrt(n), f"{what}: mean {x.mean().item():.5f}, want {mean}"
    if n >= 50:  # the normal approximation of the sample std's spread needs some elements
        s = x.std().item()
        assert abs(s - std) < 5 * std / math.sqrt(2 * (n - 1)), f"{what}: std {s:.5f} (n={n}), want {std}"


def assert_zero_biases(weighted: list[nn.Module]) -> None:
    for m in weighted:
        if m.bias is not None:
            assert torch.count_nonzero(m.bias) == 0, f"{m}: bias not 0"


def assert_norms_untouched(norms: list[nn.Module]) -> None:
    for m in norms:
        assert torch.equal(m.weight, torch.ones_like(m.weight)), f"{m}: scale is not PyTorch's 1"
        assert torch.count_nonzero(m.bias) == 0, f"{m}: shift is not PyTorch's 0"


def raw(m: nn.Module) -> torch.Tensor:
    """The weight the init scheme wrote: under spectral norm the parametrisation's ``original`` (``m.weight`` is
    then that weight divided by its estimated largest singular value)."""
    return m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight


def check_dcgan(weighted, norms, gain: float) -> None:
    for m in weighted:
        assert_normal(raw(m), 0.0, DCGAN_STD, f"{m} weight")
    pooled = torch.cat([raw(m).detach().flatten() for m in weighted])
    assert_normal(pooled, 0.0, DCGAN_STD, "all conv/linear weights")
    assert_zero_biases(weighted)
    for m in norms:
        assert_normal(m.weight, 1.0, DCGAN_STD, f"{m} scale")
        assert torch.count_nonzero(m.bias) == 0, f"{m}: shift not 0"


def check_orthogonal(weighted, norms, gain: float) -> None:
    for m in weighted:
        w = raw(m).detach().flatten(1).double()
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        eye = torch.eye(gram.shape[0], dtype=torch.float64)
        err = (gram - gain**2 * eye).abs().max().item()
        assert err < 1e-5 * gain**2, f"{m}: W Wᵀ deviates from {gain}² I by {err:.2e}"
    assert_zero_biases(weighted)
    assert_norms_untouched(norms)


def check_xavier(weighted, norms, gain: float) -> None:
    for m in weighted:
        w = raw(m).detach().double()
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(raw(m))
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        assert w.abs().max() <= bound * (1 + 1e-6), f"{m}: weight outside ±{bound:.4g}"
        n = w.numel()
        if n >= 100:  # U(−a, a): std a/√3; the sample std's standard error ≈ a/√(15n)
            std = gain * math.sqrt(2.0 / (fan_in + fan_out))
            assert abs(w.std().item() - std) < 5 * bound / math.sqrt(15 * n), f"{m}: std {w.std().item():.4g}≠{std:.4g}"
            assert abs(w.mean().item()) < 5 * std / math.sqrt(n), f"{m}: mean {w.mean().item():.4g}"
    assert_zero_biases(weighted)
    assert_norms_untouched(norms)


CHECKS = {"dcgan": check_dcgan, "orthogonal": check_orthogonal, "xavier": check_xavier}


# ----------------------------------------------------------------- every architecture, every scheme
def test_networks_are_discovered():
    ids = yaml_net_ids()
    assert {"generator/mlp", "generator/metz", "discriminator/metz", "discriminator/began"} <= set(ids), ids
    assert len(ids) == len(list(MODEL_DIR.glob("generator/*.yaml"))) + len(list(MODEL_DIR.glob("discriminator/*.yaml")))


@pytest.mark.parametrize("net_id", NET_IDS)
def test_config_exposes_init_option(net_id):
    cfg = net_config(net_id)
    assert cfg["init"] in ("default", "dcgan", "orthogonal", "xavier") and "init_gain" in cfg, cfg
    assert make(cfg).init_scheme == cfg["init"]


@pytest.mark.parametrize(
    ("scheme", "gain"),
    [("dcgan", None), ("orthogonal", None), ("orthogonal", 2.0), ("xavier", 1.0), ("xavier", 2.0)],
    ids=["dcgan", "orthogonal", "orthogonal-gain2", "xavier", "xavier-gain2"],
)
@pytest.mark.parametrize("net_id", NET_IDS)
def test_scheme_statistics(net_id, scheme, gain):
    net = make(net_config(net_id), init=scheme, init_gain=gain)
    assert net.init_scheme == scheme
    assert "_init_pending" not in net.__dict__
    weighted, norms = checked_layers(net)
    CHECKS[scheme](weighted, norms, 1.0 if gain is None else gain)


@pytest.mark.parametrize("net_id", NET_IDS)
def test_default_is_pytorch_init_untouched(net_id):
    cfg = net_config(net_id)
    net = make(cfg, init="default", init_gain=None)
    plain = make(without_init(cfg))
    assert net.init_scheme == "default" and plain.init_scheme == "default"
    ours, theirs = net.state_dict(), plain.state_dict()
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        assert torch.equal(value, theirs[key]), f"{key} differs from PyTorch's init under the same seed"
    # and that init is PyTorch's: Kaiming-uniform weights and biases within ±1/√fan_in, norms at (1, 0)
    weighted, norms = checked_layers(net)
    for m in weighted:
        bound = 1.0 / math.sqrt(nn.init._calculate_fan_in_and_fan_out(raw(m))[0])
        assert raw(m).abs().max() <= bound * (1 + 1e-6), m
        if m.bias is not None:
            assert m.bias.abs().max() <= bound * (1 + 1e-6) and m.bias.abs().max() > 0, m
    assert_norms_untouched(norms)
    # a different seed gives other weights: the equality above is not that of constants
    other = make(cfg, seed=1, init="default", init_gain=None)
    assert not all(torch.equal(v, other.state_dict()[k]) for k, v in ours.items())


def test_embeddings_and_minibatch_tensor_keep_their_own_init():
    d_kwargs = {"in_shape": (2,), "hidden": [64, 64], "minibatch": "discrimination", "num_classes": 10}
    torch.manual_seed(0)
    d_default = MLPDiscriminator(**d_kwargs)
    torch.manual_seed(0)
    d = MLPDiscriminator(**d_kwargs, init="dcgan")
    assert isinstance(d.minibatch_layer, MinibatchDiscrimination)
    assert torch.equal(d.minibatch_layer.T, d_default.minibatch_layer.T)
    assert_normal(d.minibatch_layer.T, 0.0, 0.1, "minibatch discrimination T")  # its own N(0, 0.1²)
    assert torch.equal(d.embed.weight, d_default.embed.weight)
    assert_normal(d.embed.weight, 0.0, 1.0, "D embedding")  # nn.Embedding's N(0, 1)
    check_dcgan(*checked_layers(d), 1.0)

    g_kwargs = {"latent_dim": 8, "out_shape": (2,), "num_classes": 10, "embed_dim": 20, "project_dim": 32}
    torch.manual_seed(0)
    g_default = MLPGenerator(**g_kwargs)
    torch.manual_seed(0)
    g = MLPGenerator(**g_kwargs, init="orthogonal", init_gain=2.0)
    assert torch.equal(g.embed.weight, g_default.embed.weight)
    assert_normal(g.embed.weight, 0.0, 1.0, "G embedding")
    check_orthogonal(*checked_layers(g), 2.0)  # the projection Linear included


# ----------------------------------------------------------------- refusals
ACCEPTED = "accepted: default, dcgan, orthogonal, xavier"
GAIN_SCHEMES = "applies to init=orthogonal or xavier only"
POSITIVE = "accepted: a finite number > 0"
FACTORIES = {
    "MLPGenerator": lambda **kw: MLPGenerator(latent_dim=4, out_shape=(2,), hidden=[8], **kw),
    "MetzDiscriminator": lambda **kw: MetzDiscriminator(in_shape=(3, 28, 28), **kw),
    "ConvEncoder": lambda **kw: ConvEncoder(in_shape=(1, 28, 28), latent_dim=4, **kw),
    "BEGANAutoencoder": lambda **kw: BEGANAutoencoder(in_shape=(1, 28, 28), n=4, hidden=4, **kw),
}


@pytest.mark.parametrize(
    ("init", "gain", "message"),
    [
        ("bogus", None, "init='bogus' is invalid; " + ACCEPTED),
        ("DCGAN", None, "init='DCGAN' is invalid; " + ACCEPTED),
        ("dcgan", 2.0, f"init_gain=2.0 {GAIN_SCHEMES}, not init=dcgan"),
        ("default", 1.0, f"init_gain=1.0 {GAIN_SCHEMES}, not init=default"),
        ("xavier", 0, "init_gain=0 is invalid; " + POSITIVE),
        ("xavier", -1.0, "init_gain=-1.0 is invalid; " + POSITIVE),
        ("orthogonal", -0.5, "init_gain=-0.5 is invalid; " + POSITIVE),
        ("orthogonal", float("nan"), "init_gain=nan is invalid; " + POSITIVE),
        ("xavier", float("inf"), "init_gain=inf is invalid; " + POSITIVE),
        ("xavier", "2", "init_gain='2' is invalid; " + POSITIVE),
    ],
)
@pytest.mark.parametrize("factory", FACTORIES)
def test_invalid_init_refused(factory, init, gain, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        FACTORIES[factory](init=init, init_gain=gain)


@pytest.mark.parametrize("factory", FACTORIES)
def test_valid_init_accepted(factory):
    """The refusals above are of the values, not of the keywords: the same constructors take valid ones."""
    assert FACTORIES[factory](init="xavier", init_gain=0.5).init_scheme == "xavier"
    assert FACTORIES[factory](init="dcgan", init_gain=None).init_scheme == "dcgan"
    assert FACTORIES[factory]().init_scheme == "default"


# ----------------------------------------------------------------- applied once, after the outermost constructor
class Wider(MLPGenerator):
    """A subclass that adds a layer after its parent's constructor has returned."""

    def __init__(self, extra: int = 400, **kwargs):
        super().__init__(**kwargs)
        self.extra = nn.Linear(50, extra)  # PyTorch init: std 1/√(3·50) ≈ 0.08


class Plain(MLPGenerator):
    """A subclass without a constructor of its own."""


class Tiny(Initialised):
    """A new architecture straight on the mixin: no init code of its own."""

    def __init__(self, width: int = 300):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)


class Forcing(MLPGenerator):
    """Passes init to its parent: an inner constructor may not choose."""

    def __init__(self, **kwargs):
        super().__init__(init="dcgan", **kwargs)


@pytest.fixture
def initialise_calls(monkeypatch) -> list[str]:
    """Records the scheme of every ``initialise_`` call the mixin makes."""
    calls: list[str] = []
    original = init_module.initialise_

    def counting(net, scheme="default", gain=None):
        calls.append(scheme)
        return original(net, scheme, gain)

    monkeypatch.setattr(init_module, "initialise_", counting)
    return calls


def test_subclass_extra_layer_initialised_once(initialise_calls):
    net = Wider(latent_dim=8, out_shape=(2,), hidden=[64], init="dcgan")
    assert initialise_calls == ["dcgan"] and net.init_scheme == "dcgan"
    assert_normal(net.extra.weight, 0.0, DCGAN_STD, "extra layer weight")
    assert torch.count_nonzero(net.extra.bias) == 0
    check_dcgan(*checked_layers(net), 1.0)
    # without init the extra layer has PyTorch's own initialisation (so the above is the scheme's doing)
    default = Wider(latent_dim=8, out_shape=(2,), hidden=[64])
    assert initialise_calls == ["dcgan", "default"]
    assert default.extra.weight.std() > 2 * DCGAN_STD and torch.count_nonzero(default.extra.bias) > 0


def test_subclass_without_constructor(initialise_calls):
    net = Plain(latent_dim=8, out_shape=(2,), hidden=[400, 400], init="dcgan")
    assert initialise_calls == ["dcgan"] and net.init_scheme == "dcgan"
    check_dcgan(*checked_layers(net), 1.0)


def test_new_architecture_on_the_mixin(initialise_calls):
    net = Tiny(init="xavier", init_gain=2.0)
    assert initialise_calls == ["xavier"] and net.init_scheme == "xavier"
    check_xavier(*checked_layers(net), 2.0)
    with pytest.raises(ValueError, match=re.escape(ACCEPTED)):
        Tiny(init="he")


def test_inner_constructor_may_not_choose_init():
    with pytest.raises(TypeError, match="outermost"):
        Forcing(latent_dim=8, out_shape=(2,))


# ----------------------------------------------------------------- Maxout and the MLP bodies
def test_maxout_is_the_max_over_pieces():
    torch.manual_seed(0)
    layer = Maxout(7, 3, pieces=4)
    x = torch.randn(5, 7)
    out = layer(x)
    assert out.shape == (5, 3)
    w, b = layer.linear.weight.detach(), layer.linear.bias.detach()
    assert w.shape == (12, 7)
    expected = torch.empty(5, 3)
    for i in range(5):
        for unit in range(3):
            rows = range(unit * 4, unit * 4 + 4)  # unit j owns rows j·pieces … j·pieces + pieces − 1
            expected[i, unit] = max(float(w[r] @ x[i] + b[r]) for r in rows)
    torch.testing.assert_close(out.detach(), expected)
    # the max picks different pieces for different inputs (else this would be one linear map)
    pieces = layer.linear(x).view(5, 3, 4).argmax(-1)
    assert len(pieces.unique()) > 1


@pytest.mark.parametrize("pieces", [1, 0, -2, 2.5])
def test_maxout_refuses_fewer_than_two_pieces(pieces):
    with pytest.raises(ValueError, match=re.escape("accepted: an integer >= 2")):
        Maxout(4, 3, pieces=pieces)


def test_mlp_body_maxout_layers():
    body, width = mlp_body(10, [6, 4], "maxout", maxout_pieces=3)
    assert width == 4
    assert [type(m) for m in body] == [Maxout, Maxout]
    assert [(m.linear.in_features, m.linear.out_features, m.pieces) for m in body] == [(10, 18, 3), (6, 12, 3)]
    assert body(torch.randn(2, 10)).shape == (2, 4)
    normed, _ = mlp_body(10, [6, 4], "maxout", norm="batch", maxout_pieces=3)
    assert [type(m) for m in normed] == [Maxout, nn.BatchNorm1d, Maxout, nn.BatchNorm1d]
    net = mlp(10, [6], 2, "maxout", maxout_pieces=3)
    assert [type(m) for m in net] == [Maxout, nn.Linear] and net[-1].out_features == 2


def test_mlp_body_batch_norm_layers():
    body, width = mlp_body(10, [6, 4], "relu", norm="batch")
    assert width == 4
    assert [type(m) for m in body] == [nn.Linear, nn.BatchNorm1d, nn.ReLU] * 2
    assert all(m.bias is None for m in body if isinstance(m, nn.Linear))
    assert [m.num_features for m in body if isinstance(m, nn.BatchNorm1d)] == [6, 4]
    plain, _ = mlp_body(10, [6], "relu")
    assert [type(m) for m in plain] == [nn.Linear, nn.ReLU] and plain[0].bias is not None


# ----------------------------------------------------------------- the PacGAN pair (conf/model/gan_pacgan.yaml)
def pacgan_g_params() -> int:
    hidden = 400
    return 2 * hidden + 3 * hidden * hidden + 4 * 2 * hidden + hidden * 2 + 2  # no bias before BN; BN γ, β


def pacgan_d_params(pack: int) -> int:
    units, pieces = 200, 5
    first = 2 * pack * units * pieces + units * pieces
    return first + 2 * (units * units * pieces + units * pieces) + units + 1


def test_pacgan_parameter_counts_by_hand():
    assert pacgan_g_params() == 484_802 and pacgan_d_params(1) == 405_201 and pacgan_d_params(4) == 411_201


@pytest.mark.parametrize("pack", [1, 4])
def test_pacgan_nets(pack):
    g = make(inline_config("gan_pacgan.yaml", "generator", (2,)))
    d = make(inline_config("gan_pacgan.yaml", "discriminator", (2,)), pack=pack)
    assert g.init_scheme == "dcgan" and d.init_scheme == "dcgan"
    assert n_params(g) == pacgan_g_params()
    assert n_params(d) == pacgan_d_params(pack)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in g.modules()) == 4
    assert [m.pieces for m in d.modules() if isinstance(m, Maxout)] == [5, 5, 5]
    z = torch.randn(8, 2)
    x = g(z)
    assert x.shape == (8, 2)
    assert d(x).shape == (8 // pack,)


# ----------------------------------------------------------------- the Metz Stacked-MNIST pair
def test_metz_shapes_and_range():
    torch.manual_seed(0)
    g = MetzGenerator(latent_dim=LATENT, out_shape=(3, 28, 28))
    d = MetzDiscriminator(in_shape=(3, 28, 28))
    x = g(torch.randn(5, LATENT))
    assert x.shape == (5, 3, 28, 28)
    assert x.abs().max() <= 1.0 and x.std() > 0
    assert d(x).shape == (5,)


@pytest.mark.parametrize(
    ("widths", "expected"),
    [
        ([2, 4, 8], 3 * 2 * 9 + 2 + 2 * 2 + 2 * 4 * 9 + 4 + 2 * 4 + 4 * 8 * 9 + 8 + 2 * 8 + 8 * 16 + 1),
        ([4, 8, 16], 3 * 4 * 9 + 4 + 2 * 4 + 4 * 8 * 9 + 8 + 2 * 8 + 8 * 16 * 9 + 16 + 2 * 16 + 16 * 16 + 1),
    ],
)
def test_metz_discriminator_widths(widths, expected):
    d = MetzDiscriminator(in_shape=(3, 28, 28), widths=widths)
    assert n_params(d) == expected
    assert d(torch.rand(4, 3, 28, 28) * 2 - 1).shape == (4,)


@pytest.mark.parametrize(
    "build",
    [
        lambda: MetzGenerator(latent_dim=LATENT, out_shape=(3, 32, 32)),
        lambda: MetzDiscriminator(in_shape=(3, 32, 32)),
        lambda: MetzDiscriminator(in_shape=(1, 28, 27)),
    ],
    ids=["G-32", "D-32", "D-28x27"],
)
def test_metz_refuses_other_sizes(build):
    with pytest.raises(ShapeError, match="supported image sizes: 28"):
        build()


def test_metz_discriminator_needs_three_widths():
    with pytest.raises(ShapeError, match="needs 3 values"):
        MetzDiscriminator(in_shape=(3, 28, 28), widths=[2, 4])
