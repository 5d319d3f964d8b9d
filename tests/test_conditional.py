"""One CPU training iteration of GANModule per architecture family, and conditional GANs end to end:
labelled batches, unrolling with labels, class-balanced sampling, and the error for unlabelled data."""

import math
from functools import partial

import pytest
import pytorch_lightning as pl
import torch
from fitting import quiet_trainer
from netconfigs import LATENT, make_loss
from netconfigs import build as net
from torch.utils.data import DataLoader, TensorDataset

from ganlab.modules import GANModule
from ganlab.nets import MLPDiscriminator, MLPGenerator

BATCH = 8


def make_module(generator, discriminator, loss: str, **kw) -> GANModule:
    optimizer = partial(torch.optim.Adam, lr=1e-3, betas=(0.5, 0.999))
    return GANModule(generator, discriminator, make_loss(loss), optimizer, optimizer, latent_dim=LATENT, **kw)


def fit(module: GANModule, dataset, iterations: int = 1) -> pl.Trainer:
    module.max_iterations = iterations
    trainer = quiet_trainer()
    trainer.fit(module, DataLoader(dataset, batch_size=BATCH, shuffle=False))
    return trainer


def images(shape, n=BATCH) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(n, *shape) * 2 - 1


def snapshot(net) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in net.named_parameters()}


def unchanged(net, before) -> list[str]:
    return [k for k, p in net.named_parameters() if torch.equal(p.detach(), before[k])]


FAMILIES = {
    "mlp-non_saturating": ("mlp", "mlp", "non_saturating", (1, 28, 28), {}, {}),
    "dcgan28-hinge": ("dcgan", "dcgan", "hinge", (1, 28, 28), {}, {}),
    "conv32-lsgan": ("conv", "conv", "lsgan", (3, 32, 32), {"widths": {32: [16, 8, 8]}}, {"widths": {32: [8, 8, 16]}}),
    "infogan28-wgan_gp": ("infogan", "infogan", "wgan_gp", (1, 28, 28), {}, {"norm": "layer"}),
    "m1m3-minimax": ("m1", "m3", "minimax", (1, 28, 28), {}, {}),
    "dcgan28-std-pack2-wgan_gp": ("dcgan", "dcgan", "wgan_gp", (1, 28, 28), {}, {"minibatch": "std", "pack": 2}),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_one_iteration_moves_every_parameter(family):
    g_name, d_name, loss, shape, g_kw, d_kw = FAMILIES[family]
    torch.manual_seed(0)
    module = make_module(net("generator", g_name, shape, **g_kw), net("discriminator", d_name, shape, **d_kw), loss)
    if "pack" in d_kw:
        assert module.discriminator(images(shape)).shape == (BATCH // 2,)
    g_before, d_before = snapshot(module.generator), snapshot(module.discriminator)
    trainer = fit(module, TensorDataset(images(shape)))
    assert module.iteration == 1
    for key in ("train/d_loss", "train/g_loss", "train/grad_norm_d", "train/grad_norm_g"):
        assert math.isfinite(trainer.callback_metrics[key].item()), key
    for net_ in (module.generator, module.discriminator):
        assert all(torch.isfinite(p).all() for p in net_.parameters())
    assert unchanged(module.generator, g_before) == []
    still = unchanged(module.discriminator, d_before)
    if module.loss.objective.name == "wasserstein":
        # E[D(G(z))] − E[D(x)] and the gradient penalty are invariant to the head's bias: its gradient is exactly 0
        assert still == ["head.bias"]
    elif module.loss.objective.critic:
        assert set(still) <= {"head.bias"}  # hinge: zero bias gradient while every logit is inside the margin
    else:
        assert still == []
    if len(module.loss.penalties):
        assert math.isfinite(trainer.callback_metrics["train/d_penalty"].item())


# ----------------------------------------------------------------- conditional GANs
SHAPE = (1, 28, 28)


def conditional_module(**kw) -> GANModule:
    torch.manual_seed(0)
    g = MLPGenerator(latent_dim=LATENT, out_shape=SHAPE, hidden=(32,), output_activation="tanh", num_classes=10)
    d = MLPDiscriminator(in_shape=SHAPE, hidden=(32,), activation="leaky_relu", num_classes=10)
    return make_module(g, d, "non_saturating", **kw)


def labelled(labels=(0, 1, 2, 3, 4, 0, 1, 2)) -> TensorDataset:
    return TensorDataset(images(SHAPE), torch.tensor(labels))


@pytest.mark.parametrize(
    ("unroll_steps", "unroll_mode"),
    [(0, "first_order"), (2, "first_order"), (2, "second_order")],
    ids=["plain", "unrolled-first_order", "unrolled-second_order"],
)
def test_conditional_gan_trains_on_labelled_batch(unroll_steps, unroll_mode):
    module = conditional_module(unroll_steps=unroll_steps, unroll_mode=unroll_mode)
    g_before, d_before = snapshot(module.generator), snapshot(module.discriminator)
    trainer = fit(module, labelled())
    assert module.iteration == 1
    assert math.isfinite(trainer.callback_metrics["train/d_loss"].item())
    assert math.isfinite(trainer.callback_metrics["train/g_loss"].item())
    assert unchanged(module.generator, g_before) == [] and unchanged(module.discriminator, d_before) == []
    # the batch only has classes 0–4: the labels reached both nets (and the look-ahead D), so exactly the
    # embedding rows of those classes received gradients and moved (Adam's first step: zero gradient → no move)
    for net_, before in ((module.generator, g_before), (module.discriminator, d_before)):
        moved = (net_.embed.weight.detach() != before["embed.weight"]).any(dim=1)
        assert moved.tolist() == [True] * 5 + [False] * 5


def test_conditional_sampling_balances_classes_and_follows_labels():
    module = conditional_module()
    state = module.noise.get_state()
    out = module.sample(20)
    assert out.shape == (20, *SHAPE)
    z = torch.randn(20, LATENT, generator=torch.Generator().set_state(state))
    with torch.no_grad():
        expected = module.generator(z, torch.arange(20) % 10)
    torch.testing.assert_close(out, expected)
    assert module.balanced_labels(12).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]

    z = torch.randn(4, LATENT)
    a = module.sample(z=z, labels=torch.tensor([0, 1, 2, 3]))
    b = module.sample(z=z, labels=torch.tensor([5, 1, 7, 3]))
    torch.testing.assert_close(a, module.sample(z=z, labels=torch.tensor([0, 1, 2, 3])))
    torch.testing.assert_close(a[[1, 3]], b[[1, 3]])
    assert not torch.allclose(a[0], b[0]) and not torch.allclose(a[2], b[2])
    assert module.generator.training  # sampling switched to eval and back


def test_unconditional_module_ignores_labels_in_the_batch():
    torch.manual_seed(0)
    module = make_module(
        MLPGenerator(latent_dim=LATENT, out_shape=SHAPE, hidden=(32,)),
        MLPDiscriminator(in_shape=SHAPE, hidden=(32,)),
        "lsgan",
    )
    assert module.num_classes is None and module.balanced_labels(4) is None
    fit(module, labelled())
    assert module.iteration == 1


@pytest.mark.parametrize("bare", [True, False], ids=["bare-tensor-batches", "images-only-tuples"])
def test_conditional_module_on_unlabelled_data_raises(bare):
    dataset = images(SHAPE) if bare else TensorDataset(images(SHAPE))
    module = conditional_module()
    with pytest.raises(ValueError, match="label"):
        fit(module, dataset)
    assert module.iteration == 0
