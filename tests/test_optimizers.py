"""TFAdam: TensorFlow's / Keras's Adam arithmetic (ε on √v before the bias correction), resumable."""

import copy
import math

import pytest
import torch

from ganlab.optimizers import TFAdam


def _tf_adam_steps(p0: torch.Tensor, grads: list[torch.Tensor], lr, b1, b2, eps) -> torch.Tensor:
    """TensorFlow 1.x AdamOptimizer, written out: lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); θ −= lr_t·m/(√v + ε)."""
    p, m, v = p0.clone().double(), torch.zeros_like(p0).double(), torch.zeros_like(p0).double()
    for t, g in enumerate(grads, start=1):
        g = g.double()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        p = p - lr_t * m / (v.sqrt() + eps)
    return p


def _run(opt_cls, grads, **kw):
    p = torch.nn.Parameter(torch.ones(5, dtype=torch.float64))
    opt = opt_cls([p], **kw)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    return p.detach(), opt


@pytest.mark.parametrize("eps", [1e-8, 1e-2])
def test_tf_adam_equals_tensorflow_arithmetic(eps):
    torch.manual_seed(0)
    grads = [torch.randn(5, dtype=torch.float64) * 1e-2 for _ in range(20)]
    kw = {"lr": 1e-2, "betas": (0.5, 0.999), "eps": eps}
    mine, _ = _run(TFAdam, grads, **kw)
    expected = _tf_adam_steps(torch.ones(5), grads, 1e-2, 0.5, 0.999, eps)
    torch.testing.assert_close(mine, expected, rtol=1e-12, atol=1e-14)


def test_tf_adam_differs_from_torch_adam_where_eps_matters():
    torch.manual_seed(0)
    grads = [torch.randn(5, dtype=torch.float64) * 1e-2 for _ in range(5)]
    kw = {"lr": 1e-2, "betas": (0.5, 0.999), "eps": 1e-2}
    tf, _ = _run(TFAdam, grads, **kw)
    pt, _ = _run(torch.optim.Adam, grads, **kw)
    assert (tf - pt).abs().max() > 1e-4


def test_tf_adam_resumes_from_its_state_dict():
    torch.manual_seed(0)
    grads = [torch.randn(5, dtype=torch.float64) for _ in range(10)]
    kw = {"lr": 1e-2, "betas": (0.5, 0.999), "eps": 1e-2}
    whole, _ = _run(TFAdam, grads, **kw)
    first, opt = _run(TFAdam, grads[:4], **kw)
    p = torch.nn.Parameter(first.clone())
    resumed = TFAdam([p], lr=1.0, eps=0.5)  # the state dict restores lr, ε and the step count
    resumed.load_state_dict(copy.deepcopy(opt.state_dict()))
    for g in grads[4:]:
        p.grad = g.clone()
        resumed.step()
    torch.testing.assert_close(p.detach(), whole, rtol=0, atol=0)


def test_tf_adam_refuses_flags_it_does_not_reproduce():
    with pytest.raises(ValueError, match="amsgrad=True"):
        TFAdam([torch.nn.Parameter(torch.ones(1))], amsgrad=True)
