"""Discriminator options and conditioning: minibatch layers, PacGAN packing and label conditioning, each
against an independent reference where one exists."""

import pytest
import torch
from netconfigs import LATENT, build
from torch import nn

from ganlab.nets import ConvDiscriminator, MLPDiscriminator, MLPGenerator, ShapeError
from ganlab.nets.layers import MinibatchDiscrimination, MinibatchStd


def minibatch_std_reference(f: torch.Tensor, group_size: int) -> torch.Tensor:
    """Loops: groups of ``group_size`` samples, sample i in group i mod (B / group_size); a group size that
    does not divide B (or 0) means one group of the whole batch."""
    b = f.shape[0]
    g = group_size if 0 < group_size <= b and b % group_size == 0 else b
    n_groups = b // g
    out = torch.empty(b, f.shape[1] + 1, dtype=f.dtype)
    for r in range(n_groups):
        members = [i for i in range(b) if i % n_groups == r]
        assert len(members) == g
        stds = []
        for col in range(f.shape[1]):
            values = [f[i, col].item() for i in members]
            mean = sum(values) / g
            var = sum((v - mean) ** 2 for v in values) / g
            stds.append((var + 1e-8) ** 0.5)
        stat = sum(stds) / len(stds)
        for i in members:
            out[i, :-1] = f[i]
            out[i, -1] = stat
    return out


@pytest.mark.parametrize(
    ("batch", "group_size"),
    [(8, 2), (8, 4), (12, 4), (6, 4), (5, 2), (4, 0), (3, 8)],
    ids=["8/2", "8/4", "12/4", "6/4-whole", "5/2-whole", "group0-whole", "group>batch-whole"],
)
def test_minibatch_std_matches_loop_reference(batch, group_size):
    torch.manual_seed(0)
    f = torch.randn(batch, 5, dtype=torch.float64) * torch.arange(1, 6, dtype=torch.float64)
    out = MinibatchStd(5, group_size=group_size)(f)
    assert out.shape == (batch, 6)
    torch.testing.assert_close(out, minibatch_std_reference(f, group_size))


def test_minibatch_std_groups_are_independent_and_differentiable():
    torch.manual_seed(0)
    f = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    layer = MinibatchStd(3, group_size=4)  # 2 groups: even and odd samples
    stat = layer(f)[:, -1]
    assert not torch.allclose(stat[0], stat[1])
    grad = torch.autograd.grad(stat[0], f)[0]
    assert grad[0::2].abs().sum() > 0 and grad[1::2].abs().sum() == 0
    assert torch.autograd.gradcheck(layer, (f,))


def minibatch_discrimination_reference(f: torch.Tensor, T: torch.Tensor, kernels: int, dim: int) -> torch.Tensor:
    b = f.shape[0]
    m = (f @ T).reshape(b, kernels, dim)
    o = torch.zeros(b, kernels, dtype=f.dtype)
    for i in range(b):
        for j in range(b):
            if j == i:
                continue
            for k in range(kernels):
                o[i, k] += torch.exp(-(m[i, k] - m[j, k]).abs().sum())
    return torch.cat([f, o], dim=1)


def test_minibatch_discrimination_matches_double_loop_and_has_gradients():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, kernels=4, kernel_dim=3).double()
    assert layer.out_features == 10
    f = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    out = layer(f)
    expected = minibatch_discrimination_reference(f.detach(), layer.T.detach(), 4, 3)
    torch.testing.assert_close(out, expected)
    assert (out[:, 6:] > 0).all() and (out[:, 6:] < 4).all()  # 4 other samples, each term in (0, 1]
    out[:, 6:].sum().backward()
    assert layer.T.grad is not None and layer.T.grad.abs().sum() > 0 and torch.isfinite(layer.T.grad).all()
    assert f.grad is not None and f.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(lambda x: layer(x), (torch.randn(4, 6, dtype=torch.float64, requires_grad=True),))


def test_minibatch_discrimination_identical_samples_count_each_other():
    layer = MinibatchDiscrimination(3, kernels=2, kernel_dim=2)
    f = torch.ones(4, 3)
    torch.testing.assert_close(layer(f)[:, 3:], torch.full((4, 2), 3.0))  # exp(0) for each of 3 others


def _mlp_d(**options) -> MLPDiscriminator:
    torch.manual_seed(0)
    return MLPDiscriminator(in_shape=(1, 6, 6), hidden=(16, 8), activation="leaky_relu", **options).eval()


@pytest.mark.parametrize(
    "options",
    [{"minibatch": "discrimination", "minibatch_kernels": 5, "minibatch_kernel_dim": 3}, {"minibatch": "std"}],
)
def test_minibatch_discriminator_logit_depends_on_other_samples(options):
    d = _mlp_d(**options)
    torch.manual_seed(1)
    x = torch.randn(4, 1, 6, 6)
    changed = x.clone()
    changed[2] += 1.5
    with torch.no_grad():
        a, b = d(x), d(changed)
    assert not torch.allclose(a[0], b[0], atol=1e-6)


def test_plain_discriminator_logit_ignores_other_samples():
    d = _mlp_d(minibatch="none")
    torch.manual_seed(1)
    x = torch.randn(4, 1, 6, 6)
    changed = x.clone()
    changed[1:] += 1.5
    with torch.no_grad():
        a, b, alone = d(x), d(changed), d(x[:1])
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[0], alone[0])
    assert not torch.allclose(a[1:], b[1:])


def test_minibatch_std_discriminator_couples_only_its_group():
    d = _mlp_d(minibatch="std", minibatch_group=2)  # batch 4 → groups {0, 2} and {1, 3}
    torch.manual_seed(1)
    x = torch.randn(4, 1, 6, 6)
    other_group, same_group = x.clone(), x.clone()
    other_group[1] += 1.5
    same_group[2] += 1.5
    with torch.no_grad():
        base = d(x)
        torch.testing.assert_close(d(other_group)[0], base[0])
        assert not torch.allclose(d(same_group)[0], base[0], atol=1e-6)


def test_minibatch_head_widths():
    d = _mlp_d(minibatch="discrimination", minibatch_kernels=7, minibatch_kernel_dim=2)
    assert d.minibatch_layer.T.shape == (8, 14) and d.head.in_features == 8 + 7
    assert _mlp_d(minibatch="std").head.in_features == 8 + 1
    assert _mlp_d().head.in_features == 8


# ----------------------------------------------------------------- PacGAN
def _packed_pair(kind: str, pack: int, channels: int = 1):
    """A packed D and the same weights as an unpacked D on pack×channels input channels."""
    size = 28
    if kind == "mlp":
        make = lambda c, m: MLPDiscriminator(in_shape=(c, size, size), hidden=(32, 16), pack=m)  # noqa: E731
    else:
        make = lambda c, m: build("discriminator", "dcgan", (c, size, size), pack=m)  # noqa: E731
    torch.manual_seed(0)
    packed = make(channels, pack).eval()
    manual = make(channels * pack, 1).eval()
    manual.load_state_dict(packed.state_dict())
    return packed, manual


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_pack_first_layer_sees_pack_times_channels(kind):
    packed, _ = _packed_pair(kind, pack=2, channels=3)
    first = next(m for m in packed.modules() if isinstance(m, nn.Linear | nn.Conv2d))
    if kind == "mlp":
        assert first.in_features == 2 * 3 * 28 * 28
    else:
        assert first.in_channels == 2 * 3


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_packed_logits_equal_d_on_channel_concatenation(kind):
    packed, manual = _packed_pair(kind, pack=2)
    torch.manual_seed(1)
    x = torch.rand(9, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        even = packed(x[:8])
        odd = packed(x)
        pairs = torch.stack([torch.cat([x[2 * k], x[2 * k + 1]], dim=0) for k in range(4)])
        expected = manual(pairs)
    assert even.shape == (4,) and odd.shape == (4,)  # 9 samples: the ninth is dropped
    torch.testing.assert_close(even, expected)
    torch.testing.assert_close(odd, expected)
    with torch.no_grad():
        swapped = packed(x[[1, 0, 2, 3, 4, 5, 6, 7]])
    assert not torch.allclose(swapped[0], even[0], atol=1e-6)  # order inside a pack is seen
    torch.testing.assert_close(swapped[1:], even[1:])


def test_pack_three_and_too_small_batch():
    packed, manual = _packed_pair("mlp", pack=3)
    x = torch.randn(7, 1, 28, 28)
    with torch.no_grad():
        out = packed(x)
        expected = manual(torch.stack([x[0:3].reshape(3, 28, 28), x[3:6].reshape(3, 28, 28)]))
    torch.testing.assert_close(out, expected)
    with pytest.raises(ShapeError, match="pack=3"):
        packed(x[:2])


# ----------------------------------------------------------------- conditioning
@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPGenerator(latent_dim=LATENT, out_shape=(1, 28, 28), hidden=(32,), num_classes=10),
        lambda: build("generator", "dcgan", (1, 28, 28), num_classes=10, project_dim=32),
        lambda: build("generator", "mlp", (3, 32, 32), num_classes=10, embed_dim=4),
    ],
    ids=["mlp", "dcgan-projected", "mlp-config"],
)
def test_conditional_generator_depends_on_label_only_through_labels(make):
    torch.manual_seed(0)
    g = make().eval()
    z = torch.randn(4, LATENT)
    labels = torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        a, again, b = g(z, labels), g(z, labels.clone()), g(z, torch.tensor([0, 7, 2, 9]))
    torch.testing.assert_close(a, again)
    torch.testing.assert_close(a[[0, 2]], b[[0, 2]])
    assert not torch.allclose(a[1], b[1]) and not torch.allclose(a[3], b[3])
    with pytest.raises(ValueError, match="labels"):
        g(z)


def test_conditional_generator_input_width():
    g = MLPGenerator(latent_dim=LATENT, out_shape=(2,), hidden=(8,), num_classes=10, embed_dim=6)
    assert g.input_dim == LATENT + 6 and g.net[0].in_features == LATENT + 6
    projected = MLPGenerator(latent_dim=LATENT, out_shape=(2,), hidden=(8,), num_classes=10, project_dim=20)
    assert projected.input_dim == 20 and projected.project[0].in_features == LATENT + 10


def _conditional_d(kind: str, pack: int = 1) -> nn.Module:
    torch.manual_seed(0)
    if kind == "mlp-input":
        d = MLPDiscriminator(in_shape=(1, 28, 28), hidden=(32,), num_classes=10, condition="input", pack=pack)
    elif kind == "conv-input":
        d = build("discriminator", "dcgan", (1, 28, 28), num_classes=10, condition="input", pack=pack)
    else:
        d = build(
            "discriminator", "dcgan", (1, 28, 28), num_classes=10, condition="features", head_hidden=32, pack=pack
        )
    return d.eval()


@pytest.mark.parametrize("kind", ["mlp-input", "conv-input", "conv-features"])
def test_conditional_discriminator_depends_on_labels(kind):
    d = _conditional_d(kind)
    torch.manual_seed(1)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    labels = torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        a, b = d(x, labels), d(x, torch.tensor([0, 5, 2, 3]))
    assert a.shape == (4,)
    torch.testing.assert_close(a[[0, 2, 3]], b[[0, 2, 3]])
    assert not torch.allclose(a[1], b[1], atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        d(x)


def test_conditional_discriminator_layer_widths():
    assert _conditional_d("mlp-input").body[1].in_features == 28 * 28 + 10
    assert _conditional_d("conv-input").body[0].in_channels == 1 + 10
    features = _conditional_d("conv-features")
    assert features.body[0].in_channels == 1
    assert features.head[0].in_features == 128 * 7 * 7 + 10 and features.head[-1].out_features == 1
    assert _conditional_d("conv-input", pack=2).body[0].in_channels == 2 * (1 + 10)


@pytest.mark.parametrize("kind", ["mlp-input", "conv-input", "conv-features"])
def test_packed_conditional_discriminator_sees_every_label_of_a_pack(kind):
    d = _conditional_d(kind, pack=2)
    torch.manual_seed(1)
    x = torch.rand(9, 1, 28, 28) * 2 - 1
    labels = torch.arange(9) % 10
    with torch.no_grad():
        a = d(x, labels)
        changed = labels.clone()
        changed[3] = 9  # second member of the second pack
        b = d(x, changed)
    assert a.shape == (4,)
    torch.testing.assert_close(a[[0, 2, 3]], b[[0, 2, 3]])
    assert not torch.allclose(a[1], b[1], atol=1e-6)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"minibatch": "foo"}, "accepted: none, discrimination, std"),
        ({"condition": "bar"}, "accepted: input, features"),
        ({"pack": 0}, "accepted: an integer >= 1"),
        ({"pack": 2.0}, "accepted: an integer >= 1"),
    ],
)
def test_invalid_discriminator_options_raise_value_error_naming_accepted_values(option, message):
    with pytest.raises(ValueError, match=message):
        MLPDiscriminator(in_shape=(2,), **option)
    with pytest.raises(ValueError, match=message):
        ConvDiscriminator(in_shape=(1, 28, 28), widths={28: [8, 8]}, **option)
