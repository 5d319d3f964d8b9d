"""Functional unrolling of the discriminator (Metz et al. 2017), with no deepcopy.

``lookahead`` trains a *functional* copy of D for k steps: a dict of parameter tensors seeded from the
real parameters and the real optimizer's moments, updated out of place by a re-implementation of the
optimizer's update rule. The real D, its buffers and its optimizer state are never touched.

- ``differentiable=False`` — first order (the course report's method): the k updates are detached;
  G is then updated against the look-ahead D.
- ``differentiable=True`` — second order (Metz et al.): the k updates stay in the autograd graph, so
  G's gradient flows through them (dθ_D^k/dθ_G). For Adam and RMSprop the denominator is written
  sqrt(v̂ + ε²) instead of sqrt(v̂) + ε: d/dv sqrt(v) is infinite at v = 0, which turns
  second-order gradients into NaN (DESIGN.md §2).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ganlab.losses import DiscriminatorFn

#: The optimizers the functional look-ahead reproduces (exact classes: a subclass may step differently).
SUPPORTED = (torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.SGD)


def check_supported(optimizer: torch.optim.Optimizer) -> None:
    kind = type(optimizer).__name__
    if type(optimizer) not in SUPPORTED:
        raise ValueError(f"unrolling supports the optimizers {', '.join(c.__name__ for c in SUPPORTED)}; got {kind}")
    for group in optimizer.param_groups:
        for flag in ("amsgrad", "centered", "nesterov", "maximize"):
            if group.get(flag):
                raise ValueError(f"unrolling does not support {kind}({flag}=True)")


def _state_tensor(state: dict, key: str, like: Tensor) -> Tensor:
    """The live optimizer tensor itself, not a copy: every functional update is out of place, so the real
    optimizer state is only ever read (tests check it stays bit-identical)."""
    value = state.get(key)
    return torch.zeros_like(like) if value is None else value.detach()


class FunctionalOptimizer:
    """Out-of-place re-implementation of Adam / AdamW / RMSprop / SGD seeded from a live optimizer."""

    def __init__(self, optimizer: torch.optim.Optimizer, named_params: list[tuple[str, Tensor]], differentiable):
        check_supported(optimizer)
        self.kind = type(optimizer).__name__
        self.differentiable = differentiable
        group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        self.groups: dict[str, dict] = {}
        self.state: dict[str, dict] = {}
        for name, p in named_params:
            group = group_of[id(p)]
            live = optimizer.state.get(p, {})
            self.groups[name] = group
            st = {"step": float(live["step"]) if "step" in live else 0.0}
            if self.kind in ("Adam", "AdamW"):
                st["m"] = _state_tensor(live, "exp_avg", p)
                st["v"] = _state_tensor(live, "exp_avg_sq", p)
            elif self.kind == "RMSprop":
                st["v"] = _state_tensor(live, "square_avg", p)
                if group["momentum"] > 0:
                    st["buf"] = _state_tensor(live, "momentum_buffer", p)
            elif group["momentum"] > 0:  # SGD
                buf = live.get("momentum_buffer")
                st["buf"] = None if buf is None else buf.detach()
            self.state[name] = st

    def _denominator(self, v_hat: Tensor, eps: float) -> Tensor:
        if self.differentiable:
            return (v_hat + eps * eps).sqrt()
        return v_hat.sqrt() + eps

    def step(self, params: dict[str, Tensor], grads: dict[str, Tensor]) -> dict[str, Tensor]:
        return {name: self._update(name, params[name], grads[name]) for name in params}

    def _update(self, name: str, p: Tensor, g: Tensor) -> Tensor:
        group, st = self.groups[name], self.state[name]
        lr, wd = group["lr"], group.get("weight_decay", 0.0)
        st["step"] += 1.0
        if self.kind in ("Adam", "AdamW"):
            b1, b2 = group["betas"]
            if wd and self.kind == "AdamW":
                p = p * (1.0 - lr * wd)
            elif wd:
                g = g + wd * p
            st["m"] = b1 * st["m"] + (1.0 - b1) * g
            st["v"] = b2 * st["v"] + (1.0 - b2) * g * g
            bc1, bc2 = 1.0 - b1 ** st["step"], 1.0 - b2 ** st["step"]
            if self.differentiable:
                return p - (lr / bc1) * st["m"] / self._denominator(st["v"] / bc2, group["eps"])
            # the exact arithmetic of torch.optim.Adam's single-tensor path
            denom = st["v"].sqrt() / math.sqrt(bc2) + group["eps"]
            return p - (lr / bc1) * (st["m"] / denom)
        if wd:
            g = g + wd * p
        if self.kind == "RMSprop":
            alpha = group["alpha"]
            st["v"] = alpha * st["v"] + (1.0 - alpha) * g * g
            avg = self._denominator(st["v"], group["eps"])
            if group["momentum"] > 0:
                st["buf"] = group["momentum"] * st["buf"] + g / avg
                return p - lr * st["buf"]
            return p - lr * (g / avg)
        momentum = group["momentum"]  # SGD
        if momentum > 0:
            buf = st["buf"]
            st["buf"] = g if buf is None else momentum * buf + (1.0 - group["dampening"]) * g
            g = st["buf"]
        return p - lr * g


def lookahead(
    discriminator: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[DiscriminatorFn], Tensor],
    steps: int,
    differentiable: bool,
    constraint=None,
) -> DiscriminatorFn:
    """Return ``d_fn`` evaluating D after ``steps`` simulated updates of ``loss_fn``.

    ``loss_fn(d_fn)`` must compute the discriminator loss with the given functional D; for the
    second-order mode its fake samples must keep their graph to G.
    """
    named = list(discriminator.named_parameters())
    buffers = {n: b.detach().clone() for n, b in discriminator.named_buffers()}
    fopt = FunctionalOptimizer(optimizer, named, differentiable)
    params = {n: p.detach().requires_grad_(True) for n, p in named}

    def as_fn(current: dict[str, Tensor]) -> DiscriminatorFn:
        return lambda x, **kwargs: functional_call(discriminator, {**current, **buffers}, (x,), kwargs)

    for _ in range(steps):
        if not differentiable:
            params = {n: p.detach().requires_grad_(True) for n, p in params.items()}
        loss = loss_fn(as_fn(params))
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=differentiable)
        with torch.set_grad_enabled(differentiable):
            params = fopt.step(params, dict(zip(params, grads, strict=True)))
            if constraint is not None:
                params = {n: constraint.apply(p) for n, p in params.items()}
    if not differentiable:
        params = {n: p.detach() for n, p in params.items()}
    return as_fn(params)
