"""Functional look-ahead: exact optimizer arithmetic, D untouched, finite second-order gradients."""

import copy

import pytest
import torch
from torch import nn

from ganlab.losses import GANLoss, NonSaturating
from ganlab.optimizers import TFAdam
from ganlab.unroll import FunctionalOptimizer, check_supported, lookahead

OPTIMIZERS = {
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.5, 0.999)),
    "adam_wd": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1),
    "tf_adam": lambda p: TFAdam(p, lr=1e-2, betas=(0.5, 0.999), eps=1e-3),  # ε large enough to matter
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-3),
    "rmsprop_momentum": lambda p: torch.optim.RMSprop(p, lr=1e-3, momentum=0.9),
    "sgd": lambda p: torch.optim.SGD(p, lr=1e-2),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, dampening=0.1, weight_decay=0.01),
}


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))


def _loss(module_or_fn, x):
    return (module_or_fn(x) ** 2).mean()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_functional_step_matches_torch_optimizer(name):
    """k first-order look-ahead steps == k real steps of the same optimizer, from a warm state."""
    x = torch.randn(32, 2)
    net = _net()
    opt = OPTIMIZERS[name](net.parameters())
    for _ in range(3):  # warm the moments
        opt.zero_grad()
        _loss(net, x).backward()
        opt.step()
    reference = copy.deepcopy(net)
    ref_opt = OPTIMIZERS[name](reference.parameters())
    ref_opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # load_state_dict shares tensors
    for _ in range(4):
        ref_opt.zero_grad()
        _loss(reference, x).backward()
        ref_opt.step()
    d_fn = lookahead(net, opt, lambda f: _loss(f, x), steps=4, differentiable=False)
    probe = torch.randn(8, 2)
    torch.testing.assert_close(d_fn(probe), reference(probe), rtol=1e-5, atol=1e-6)


def test_lookahead_leaves_discriminator_and_optimizer_bit_identical():
    x = torch.randn(32, 2)
    net = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    opt.zero_grad()
    _loss(net, x).backward()
    opt.step()
    before = copy.deepcopy(net.state_dict())
    opt_before = copy.deepcopy(opt.state_dict())
    for differentiable in (False, True):
        d_fn = lookahead(net, opt, lambda f: _loss(f, x), steps=5, differentiable=differentiable)
        d_fn(x).sum()
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k  # includes BatchNorm running statistics
    after = opt.state_dict()
    for pid, st in opt_before["state"].items():
        for key, value in st.items():
            assert torch.equal(after["state"][pid][key], value)


def test_lookahead_from_a_fresh_optimizer_changes_predictions():
    x = torch.randn(32, 2)
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    d_fn = lookahead(net, opt, lambda f: _loss(f, x), steps=3, differentiable=False)
    assert not torch.allclose(d_fn(x), net(x))
    assert _loss(d_fn, x) < _loss(net, x)


def _second_order_setup(steps, differentiable):
    torch.manual_seed(1)
    g = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    d = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-2)
    loss = GANLoss(NonSaturating())
    real, z = torch.randn(64, 2) + 2, torch.randn(64, 4)

    def d_loss(d_fn):
        fake = g(z) if differentiable else g(z).detach()
        return loss.discriminator(lambda x: d_fn(x).squeeze(-1), real, fake).total

    d_fn = lookahead(d, opt_d, d_loss, steps, differentiable)
    g_loss, _ = loss.generator(lambda x: d_fn(x).squeeze(-1), g(z))
    grads = torch.autograd.grad(g_loss, list(g.parameters()))
    return torch.cat([gr.flatten() for gr in grads])


def test_second_order_gradient_differs_from_first_order_and_is_finite():
    first = _second_order_setup(3, differentiable=False)
    second = _second_order_setup(3, differentiable=True)
    assert torch.isfinite(second).all()
    assert not torch.allclose(first, second, rtol=1e-3, atol=1e-6)
    # with k = 0 both modes are the plain GAN gradient
    torch.testing.assert_close(_second_order_setup(0, False), _second_order_setup(0, True))


def test_second_order_through_fresh_adam_state_is_finite():
    """sqrt(v̂) has an infinite derivative at v̂ = 0: the differentiable rule must avoid it."""
    d = nn.Linear(2, 1)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2)
    w = torch.zeros(2, requires_grad=True)
    x = torch.randn(8, 2)
    d_fn = lookahead(d, opt, lambda f: (f(x + w) * 0.0).sum(), steps=2, differentiable=True)  # zero gradients
    (grad,) = torch.autograd.grad(d_fn(x + w).sum(), w)
    assert torch.isfinite(grad).all()


def test_unsupported_optimizers_are_rejected():
    p = [nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match="Adagrad"):
        check_supported(torch.optim.Adagrad(p))
    with pytest.raises(ValueError, match="amsgrad"):
        FunctionalOptimizer(torch.optim.Adam(p, amsgrad=True), [("w", p[0])], False)
