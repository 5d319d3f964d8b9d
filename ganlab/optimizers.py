"""Optimizers as the reference code of a protocol computes them, where torch's own differs.

``TFAdam``: Adam with ε added to √v *before* the bias correction, as TensorFlow 1.x's ``AdamOptimizer`` and Keras's
``Adam`` compute it (the optimizers of Metz et al.'s 2-D reference, poolio/unrolled_gan):

    lr_t = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ);   θ ← θ − lr_t · m / (√v + ε).

torch adds ε to √v̂ = √v / √(1 − β₂ᵗ) instead; the two are the same update when torch's ε at step t is
ε / √(1 − β₂ᵗ), which is what ``TFAdam`` sets before each step (ε is 32× larger at t = 1, the same after a few
thousand steps). Everything else — state, checkpoints, ``foreach`` — is ``torch.optim.Adam``'s.
"""

from __future__ import annotations

import math

import torch


def tf_epsilon(eps: float, beta2: float, step: float) -> float:
    """The ε that makes torch's Adam arithmetic equal TensorFlow's at ``step`` (1-based)."""
    return eps / math.sqrt(1.0 - beta2**step)


class TFAdam(torch.optim.Adam):
    """``torch.optim.Adam`` with TensorFlow's / Keras's ε placement (module docstring). ``eps`` is TensorFlow's ε."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, **kwargs):
        for flag in ("amsgrad", "capturable", "fused", "maximize"):
            if kwargs.get(flag):
                raise ValueError(f"TFAdam does not support {flag}=True; accepted: the default False")
        super().__init__(params, lr=lr, betas=betas, eps=eps, **kwargs)
        for group in self.param_groups:
            group["tf_eps"] = eps  # kept in the state dict: a resume continues with the same ε

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        self.param_groups[-1].setdefault("tf_eps", self.param_groups[-1]["eps"])

    def next_step(self, group: dict) -> float:
        """The 1-based number of the group's next step (0 steps taken: 1)."""
        for p in group["params"]:
            state = self.state.get(p)
            if state and "step" in state:
                return float(state["step"]) + 1.0
        return 1.0

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            group["eps"] = tf_epsilon(group["tf_eps"], group["betas"][1], self.next_step(group))
        return super().step(closure)
