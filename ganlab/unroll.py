"""Functional unrolling of the discriminator (Metz et al. 2017), with no deepcopy.

``lookahead`` trains a *functional* copy of D for k steps: a dict of parameter tensors seeded from the
real parameters and the real optimizer's moments, updated out of place by a re-implementation of the
optimizer's update rule. The real D, its buffers and its optimizer state are never touched.

- ``differentiable=False`` — first order (the course report's method): the k updates are detached;
  G is then updated against the look-ahead D.
- ``differentiable=True`` — second order (Metz et al.): the k updates stay in the autograd graph, so
  G's gradient flows through them (dθ_D^k/dθ_G), and G minimises Metz et al.'s surrogate at D_k, the term on
  real data included (``GANLoss.surrogate``). For Adam and RMSprop the denominator is written
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
from ganlab.optimizers import TFAdam, tf_epsilon

#: The optimizers the functional look-ahead reproduces (exact classes: a subclass may step differently).
SUPPORTED = (torch.optim.Adam, TFAdam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.SGD)


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


class _Bucket:
    """Parameters that share a param group and a step count: updated together by ``torch._foreach_*`` ops (one
    op over the list instead of one per tensor)."""

    def __init__(self, group: dict, step: float):
        self.group, self.step = group, step
        self.names: list[str] = []
        self.state: dict[str, list] = {}

    def add(self, name: str, state: dict[str, Tensor | None]) -> None:
        self.names.append(name)
        for key, value in state.items():
            self.state.setdefault(key, []).append(value)


class FunctionalOptimizer:
    """Out-of-place re-implementation of Adam / AdamW / RMSprop / SGD seeded from a live optimizer, on lists of
    tensors (``torch._foreach_*``; differentiable, so the second-order look-ahead keeps its graph)."""

    def __init__(self, optimizer: torch.optim.Optimizer, named_params: list[tuple[str, Tensor]], differentiable):
        check_supported(optimizer)
        self.tf_eps = isinstance(optimizer, TFAdam)  # Adam with TensorFlow's ε placement (ganlab.optimizers)
        self.kind = "Adam" if self.tf_eps else type(optimizer).__name__
        self.differentiable = differentiable
        group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        buckets: dict[tuple[int, float], _Bucket] = {}
        for name, p in named_params:
            group = group_of[id(p)]
            live = optimizer.state.get(p, {})
            step = float(live["step"]) if "step" in live else 0.0
            bucket = buckets.setdefault((id(group), step), _Bucket(group, step))
            if self.kind in ("Adam", "AdamW"):
                state = {"m": _state_tensor(live, "exp_avg", p), "v": _state_tensor(live, "exp_avg_sq", p)}
            elif self.kind == "RMSprop":
                state = {"v": _state_tensor(live, "square_avg", p)}
                if group["momentum"] > 0:
                    state["buf"] = _state_tensor(live, "momentum_buffer", p)
            elif group["momentum"] > 0:  # SGD: no buffer before the first real step
                buf = live.get("momentum_buffer")
                state = {"buf": None if buf is None else buf.detach()}
            else:
                state = {}
            bucket.add(name, state)
        self.buckets = list(buckets.values())

    def step(self, params: dict[str, Tensor], grads: dict[str, Tensor]) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for bucket in self.buckets:
            ps, gs = [params[n] for n in bucket.names], [grads[n] for n in bucket.names]
            bucket.step += 1.0
            out.update(zip(bucket.names, self._update(bucket, ps, gs), strict=True))
        return out

    def _denominator(self, v_hat: list[Tensor], eps: float) -> list[Tensor]:
        if self.differentiable:  # sqrt(v̂ + ε²): finite second derivatives at v̂ = 0
            return torch._foreach_sqrt(torch._foreach_add(v_hat, eps * eps))
        return torch._foreach_add(torch._foreach_sqrt(v_hat), eps)

    def _addcdiv(self, ps: list[Tensor], num: list[Tensor], den: list[Tensor], value: float) -> list[Tensor]:
        """ps + value · num / den. ``_foreach_addcdiv``'s double backward fails in torch 2.15 ("select(): index 1
        out of range"), so the second-order look-ahead divides first."""
        if self.differentiable:
            return torch._foreach_add(ps, torch._foreach_div(num, den), alpha=value)
        return torch._foreach_addcdiv(ps, num, den, value=value)

    def _update(self, bucket: _Bucket, ps: list[Tensor], gs: list[Tensor]) -> list[Tensor]:
        group, st = bucket.group, bucket.state
        lr, wd = group["lr"], group.get("weight_decay", 0.0)
        if self.kind in ("Adam", "AdamW"):
            b1, b2 = group["betas"]
            if wd and self.kind == "AdamW":
                ps = torch._foreach_mul(ps, 1.0 - lr * wd)
            elif wd:
                gs = torch._foreach_add(gs, ps, alpha=wd)
            st["m"] = torch._foreach_add(torch._foreach_mul(st["m"], b1), gs, alpha=1.0 - b1)
            st["v"] = torch._foreach_addcmul(torch._foreach_mul(st["v"], b2), gs, gs, value=1.0 - b2)
            bc1, bc2 = 1.0 - b1**bucket.step, 1.0 - b2**bucket.step
            eps = tf_epsilon(group["tf_eps"], b2, bucket.step) if self.tf_eps else group["eps"]
            if self.differentiable:
                denom = self._denominator(torch._foreach_div(st["v"], bc2), eps)
            else:  # torch.optim.Adam's arithmetic: sqrt(v) / sqrt(bc2) + eps
                denom = torch._foreach_add(torch._foreach_div(torch._foreach_sqrt(st["v"]), math.sqrt(bc2)),
                                             eps)  # fmt: skip
            return self._addcdiv(ps, st["m"], denom, -lr / bc1)
        if wd:
            gs = torch._foreach_add(gs, ps, alpha=wd)
        if self.kind == "RMSprop":
            alpha = group["alpha"]
            st["v"] = torch._foreach_addcmul(torch._foreach_mul(st["v"], alpha), gs, gs, value=1.0 - alpha)
            avg = self._denominator(st["v"], group["eps"])
            if group["momentum"] > 0:
                st["buf"] = torch._foreach_add(torch._foreach_mul(st["buf"], group["momentum"]),
                                                 torch._foreach_div(gs, avg))  # fmt: skip
                return torch._foreach_add(ps, st["buf"], alpha=-lr)
            return self._addcdiv(ps, gs, avg, -lr)
        momentum = group["momentum"]  # SGD
        if momentum > 0:
            damp = 1.0 - group["dampening"]
            st["buf"] = [
                g if buf is None else torch.add(buf * momentum, g, alpha=damp)
                for buf, g in zip(st["buf"], gs, strict=True)
            ]
            gs = st["buf"]
        return torch._foreach_add(ps, gs, alpha=-lr)


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
