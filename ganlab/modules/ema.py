"""The G-side plug-in point: an exponential moving average of the generator's weights, counted in iterations.

``torch.optim.swa_utils.AveragedModel`` holds the copy (a submodule: in every checkpoint, so resume stays exact;
its ``n_averaged`` buffer counts the updates) and averages buffers too (BatchNorm statistics). The decay ramps up
as TensorFlow's ``ExponentialMovingAverage(num_updates=…)`` does — ``min(decay, (1 + n) / (10 + n))`` after n
updates — so the copy follows G closely early on instead of averaging in the random initialisation for thousands
of iterations. One update per training iteration, after the generator's steps, from iteration ``start`` on (before
that the copy is not used: sampling falls back to G).

Sample grids, metric callbacks, ``ganlab-eval`` and ``ganlab-latent`` use ``module.eval_generator``: the average
when the model has one (``+model/ema=default``), else G; each says which in its summary.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel


class GeneratorEMA:
    """The settings of the average; ``average(generator)`` builds the averaged copy."""

    def __init__(self, decay: float = 0.999, start: int = 0, rampup: bool = True):
        if isinstance(decay, bool) or not isinstance(decay, int | float) or not 0.0 < decay < 1.0:
            raise ValueError(f"model.ema.decay={decay}; accepted: a number in (0, 1), e.g. 0.999")
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValueError(f"model.ema.start={start}; accepted: an integer >= 0 (the first averaged iteration)")
        self.decay, self.start, self.rampup = float(decay), start, bool(rampup)

    def decay_after(self, updates: int | Tensor) -> float | Tensor:
        """The weight of the old average at the update after ``updates`` updates (a tensor stays a tensor: no host
        synchronisation per iteration on a GPU)."""
        if not self.rampup:
            return self.decay
        ramp = (1.0 + updates) / (10.0 + updates)
        return ramp.clamp(max=self.decay) if torch.is_tensor(ramp) else min(self.decay, ramp)

    def average(self, generator: nn.Module) -> AveragedModel:
        def ema(averaged: list[Tensor], current: list[Tensor], n_averaged: Tensor) -> None:
            # AveragedModel calls this per (device, dtype) group; n_averaged counts the first update, a copy
            if averaged[0].is_floating_point():
                updates = (n_averaged - 1).to(averaged[0].dtype)
                torch._foreach_lerp_(averaged, current, 1.0 - self.decay_after(updates))
            else:  # counters (BatchNorm's num_batches_tracked) follow G
                torch._foreach_copy_(averaged, current)

        copy = AveragedModel(generator, multi_avg_fn=ema, use_buffers=True)
        return copy.requires_grad_(False)  # no optimizer, no DDP gradient sync

    def __repr__(self) -> str:
        return f"GeneratorEMA(decay={self.decay}, start={self.start}, rampup={self.rampup})"
