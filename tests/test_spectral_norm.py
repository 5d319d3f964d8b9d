"""Spectral normalisation as a network option (issue #19): σ(W) → 1 on every layer, the option on any net, and
GAN training through it, unrolled to first and second order."""

from __future__ import annotations

import pytest
import torch
from netconfigs import make_loss

from ganlab.nets import ConvDiscriminator, MLPDiscriminator, MLPGenerator
from ganlab.nets.init import WEIGHTED
from ganlab.unroll import lookahead


def layer_norms(net) -> list[float]:
    """The largest singular value of each linear / conv layer's effective weight (reshaped to a matrix)."""
    out = []
    for module in net.modules():
        if isinstance(module, WEIGHTED):
            w = module.weight
            matrix = (w.transpose(0, 1) if isinstance(module, torch.nn.ConvTranspose2d) else w).flatten(1)
            out.append(torch.linalg.matrix_norm(matrix, ord=2).item())
    return out


@pytest.mark.parametrize(
    "make",
    [
        lambda sn: MLPDiscriminator(in_shape=(2,), hidden=(16, 16), spectral_norm=sn),
        lambda sn: ConvDiscriminator(in_shape=(1, 32, 32), widths={32: [8, 16]}, spectral_norm=sn),
        lambda sn: MLPGenerator(latent_dim=4, out_shape=(2,), hidden=(16,), spectral_norm=sn),
    ],
    ids=["mlp_d", "conv_d", "mlp_g"],
)
def test_every_layer_has_unit_spectral_norm(make):
    torch.manual_seed(0)
    net = make(True)
    net.train()
    shape = (8, 4) if isinstance(net, MLPGenerator) else (8, *net.in_shape)
    with torch.no_grad():
        for _ in range(30):  # power iterations sharpen the estimate of σ
            net(torch.randn(shape))
    assert net.spectral_norm is True
    assert layer_norms(net) == pytest.approx([1.0] * len(layer_norms(net)), abs=0.02)
    assert not all(abs(n - 1.0) < 0.02 for n in layer_norms(make(False)))  # plain layers are not normalised
    assert any(name.endswith("parametrizations.weight.original") for name, _ in net.named_parameters())
    assert any(name.endswith("_u") for name, _ in net.named_buffers())


def test_a_bad_value_is_refused():
    with pytest.raises(ValueError, match="spectral_norm='yes' is invalid; accepted: true, false"):
        MLPDiscriminator(in_shape=(2,), spectral_norm="yes")


@pytest.mark.parametrize(("steps", "mode"), [(0, "first_order"), (2, "first_order"), (2, "second_order")])
def test_gan_training_through_spectral_norm_unrolled(steps, mode):
    torch.manual_seed(0)
    generator = MLPGenerator(latent_dim=8, out_shape=(2,), hidden=(16,))
    discriminator = MLPDiscriminator(in_shape=(2,), hidden=(16, 16), spectral_norm=True)
    loss = make_loss("hinge")
    loss.start(0, torch.Generator().manual_seed(0))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    real, fake = torch.randn(32, 2), generator(torch.randn(32, 8))
    second_order = mode == "second_order"
    unroll_fake = fake if second_order else fake.detach()
    d_before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    d_fn = discriminator
    if steps:
        d_fn = lookahead(
            discriminator, opt_d, lambda f: loss.discriminator(f, real, unroll_fake).total, steps, second_order
        )
    g_loss, _ = loss.generator(d_fn, fake)
    g_loss.backward()
    grads = [p.grad for p in generator.parameters()]
    assert torch.isfinite(g_loss) and all(
        g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads
    )
    # the look-ahead works on copies: the real D (weights, and power-iteration vectors u, v) is untouched by it
    after = discriminator.state_dict()
    same = [torch.equal(d_before[k], after[k]) for k in d_before if not k.endswith(("_u", "_v"))]
    assert all(same)
    if steps:
        unrolled_out = d_fn(real)
        assert not torch.allclose(unrolled_out, discriminator(real))  # the look-ahead D really moved
    # and a real D step through the parametrisation changes the underlying weights
    opt_d.zero_grad()
    loss.discriminator(discriminator, real, fake.detach(), observe=True).total.backward()
    opt_d.step()
    assert any(not torch.equal(d_before[k], discriminator.state_dict()[k]) for k in d_before if k.endswith("original"))
