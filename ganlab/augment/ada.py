"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial Networks with Limited
Data", StyleGAN2-ADA; reference code: NVlabs/stylegan2-ada-pytorch, ``training/training_loop.py``): augmentations
applied with a probability p that a controller moves to keep D's overfitting heuristic r_t = E[sign(D(x))] on
(augmented) reals near a target. ``pipeline``: ``bgc`` — ADA's own geometric and colour ops (``augment/bgc.py``,
``+loss/augment=ada``) — or ``diffaugment`` — DiffAugment's op groups with ADA's p ("adaptive DiffAugment",
``+loss/augment=ada_diffaugment``; what ``ada`` meant before issue #34, and the default of the class, so that
checkpoints written then resume with the pipeline they were trained with).

Every ``interval`` iterations: p ← clamp(p + sign(r_t − target) · N / ``speed_images``, 0, 1), N the real images seen
over those steps (batch × interval), so p can cross [0, 1] in ``speed_images`` images (500k in the paper: ``ada_kimg``
= 500; shorter for short runs). p starts at 0. The reference clamps at 0 only (p > 1 acts as 1); here p stays in
[0, 1]. p and the accumulators are buffers: checkpointed with the model (the loss bundle is a submodule), so a resume
continues the controller exactly. Updated only from the real D step (``GANLoss`` calls ``observe``), never from the
unrolled look-ahead. Under DDP the sums are added over the ranks before each update (one all-reduce every
``interval`` D steps, as the reference's ``training_stats`` does), so every rank holds the same p. ``diagnostics()``
gives p and the last r_t, logged as ``train/ada_p`` and ``train/ada_rt``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ganlab.augment.bgc import bgc
from ganlab.augment.diffaugment import DEFAULT_POLICY, DiffAugment
from ganlab.common.options import ADA_PIPELINES
from ganlab.losses import DStep
from ganlab.ranks import sum_over_ranks, world_size


class AdaptiveAugment(DiffAugment):
    """ADA's ``bgc`` ops or DiffAugment's groups (``pipeline``) with ADA's adapted ``p`` (buffer), moved by
    ``observe(step)``. ``policy`` names DiffAugment's groups (``pipeline=diffaugment`` only)."""

    def __init__(
        self,
        policy: str | Sequence[str] = DEFAULT_POLICY,
        target: float = 0.6,
        interval: int = 4,
        speed_images: float = 500_000,
        pipeline: str = "diffaugment",
    ):
        super().__init__(policy, probability=0.0)
        if pipeline not in ADA_PIPELINES:
            raise ValueError(f"AdaptiveAugment: pipeline={pipeline!r}; accepted: {', '.join(ADA_PIPELINES)}")
        self.pipeline = pipeline
        if not 0.0 < target < 1.0:
            raise ValueError(f"AdaptiveAugment: target={target}; accepted: a number in (0, 1)")
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f"AdaptiveAugment: interval={interval}; accepted: an integer >= 1")
        if not speed_images > 0:
            raise ValueError(f"AdaptiveAugment: speed_images={speed_images}; accepted: a number > 0")
        self.target, self.interval, self.speed_images = float(target), interval, float(speed_images)
        self.register_buffer("p", torch.zeros(()))
        # accumulated since the last update: sum and count of sign(D(x)), real images, observed D steps
        self.register_buffer("sign_sum", torch.zeros(()))
        self.register_buffer("sign_count", torch.zeros((), dtype=torch.long))
        self.register_buffer("images", torch.zeros((), dtype=torch.long))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("r_t", torch.zeros(()))  # the heuristic at the last update (for the logs)

    def current_probability(self) -> Tensor:
        return self.p

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.pipeline == "diffaugment":
            return super().forward(x, generator)
        if x.dim() != 4:
            raise ValueError(f"ADA augments NCHW images; got a tensor of shape {list(x.shape)}")
        return bgc(x, self.p, generator)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Checkpoints written before ``r_t`` was kept (issue #19's first version) restore with r_t = 0: it is only
        logged, and the next update sets it."""
        state_dict.setdefault(prefix + "r_t", torch.zeros(()))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def diagnostics(self) -> dict[str, Tensor]:
        return {"ada_p": self.p, "ada_rt": self.r_t}

    @torch.no_grad()
    def observe(self, step: DStep) -> None:
        """Accumulate sign(D) on this D step's reals; every ``interval``-th iteration, move p and restart the sums.
        With n_d > 1 D steps an iteration, every step's signs count but their shared real batch counts once (images
        and the interval are the reference's: real images drawn, iterations). Tensor arithmetic only (no host sync
        on a GPU) on one process; under DDP one all-reduce per update."""
        signs = step.real_logits.detach().sign()
        self.sign_sum += signs.sum().to(self.sign_sum.dtype)
        self.sign_count += signs.numel()
        if step.d_step:  # a later D step of this iteration: its reals were counted at the first
            return
        self.images += step.real.shape[0]
        self.steps += 1
        if world_size() > 1:
            if int(self.steps) % self.interval:  # the same on every rank: each rank observes every D step
                return
            self._sum_over_ranks()
        due = self.steps % self.interval == 0
        r_t = self.sign_sum / self.sign_count.clamp(min=1)
        moved = (self.p + torch.sign(r_t - self.target) * self.images / self.speed_images).clamp(0.0, 1.0)
        self.p.copy_(torch.where(due, moved, self.p))
        self.r_t.copy_(torch.where(due, r_t, self.r_t))
        keep = (~due).to(self.images.dtype)
        self.sign_sum.mul_(keep)
        self.sign_count.mul_(keep)
        self.images.mul_(keep)

    def _sum_over_ranks(self) -> None:
        totals = torch.stack([self.sign_sum.double(), self.sign_count.double(), self.images.double()])
        sum_over_ranks(totals)
        self.sign_sum.copy_(totals[0])
        self.sign_count.copy_(totals[1].round().long())
        self.images.copy_(totals[2].round().long())

    def extra_repr(self) -> str:
        ops = "bgc" if self.pipeline == "bgc" else f"diffaugment, policy={','.join(self.policy)!r}"
        return f"pipeline={ops}, target={self.target}, interval={self.interval}, speed_images={self.speed_images:g}"
