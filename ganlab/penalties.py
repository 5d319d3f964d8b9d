"""Regularisers of the discriminator (plugged into ``GANLoss.penalties``), and constraints on its weights.

A penalty sees one D loss evaluation (``ganlab.losses.DStep``: D as a function ``d_fn`` — the real network or the
functional look-ahead copy used by unrolling, with the bundle's augmentation inside —, the samples, D's outputs on
them, the run's noise RNG and the iteration) and returns its unweighted term; the base class weights it and, for
lazy regularisation (``every`` = N > 1), applies it on every N-th iteration only, scaled by N (StyleGAN2, Karras
et al. 2020, §B: the same expected strength at 1/N of the cost). Randomness comes from the run's RNG, so runs
resume exactly. Adding a penalty: a class here + ``conf/loss/penalty/<name>.yaml`` (``# @package
loss.penalties.<name>``).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from ganlab.augment import DiffAugment
from ganlab.losses import DiscriminatorFn, DStep
from ganlab.ranks import sum_over_ranks, world_size


def _per_sample_shape(x: Tensor) -> tuple[int, ...]:
    return (x.shape[0],) + (1,) * (x.dim() - 1)


def input_gradient(d_fn: DiscriminatorFn, points: Tensor) -> Tensor:
    """∇_x D(x) at ``points`` (per sample), with ``create_graph=True`` so a penalty on it trains D."""
    points = points.detach().requires_grad_(True)
    out = d_fn(points)
    (grad,) = torch.autograd.grad(out.sum(), points, create_graph=True)
    return grad.flatten(1)


def gradient_norm_penalty(d_fn: DiscriminatorFn, points: Tensor, center: float = 1.0) -> Tensor:
    """E[(||∇_x D(x)||₂ - center)²] at ``points``; the norm is per sample over all non-batch dims."""
    return ((input_gradient(d_fn, points).norm(2, dim=1) - center) ** 2).mean()


class Penalty(nn.Module):
    """``weight`` × the term of ``term(step)``; with ``every`` = N applied on iterations 0, N, 2N, … scaled by N."""

    #: whether the term differentiates through D twice (double backward; SyncBatchNorm cannot)
    double_backward = True

    def __init__(self, weight: float, every: int = 1):
        super().__init__()
        if not weight >= 0:
            raise ValueError(f"{type(self).__name__}: weight={weight}; accepted: a number >= 0")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"{type(self).__name__}: every={every}; accepted: an integer >= 1")
        self.weight, self.every = float(weight), every

    def active(self, iteration: int) -> bool:
        return iteration % self.every == 0

    def term(self, step: DStep) -> Tensor:
        raise NotImplementedError

    def forward(self, step: DStep) -> Tensor:
        return (self.weight * self.every) * self.term(step)

    def extra_repr(self) -> str:
        return f"weight={self.weight}" + (f", every={self.every}" if self.every > 1 else "")


class GradientPenalty(Penalty):
    """WGAN-GP (Gulrajani et al. 2017): λ·E[(||∇D(x̂)||₂ - 1)²], x̂ = εx + (1-ε)G(z), ε ~ U[0, 1] per sample."""

    def __init__(self, weight: float = 10.0, center: float = 1.0, every: int = 1):
        super().__init__(weight, every)
        self.center = float(center)

    def term(self, step: DStep) -> Tensor:
        real, fake = step.real.detach(), step.fake.detach()
        eps = torch.rand(_per_sample_shape(real), generator=step.generator, device=real.device, dtype=real.dtype)
        return gradient_norm_penalty(step.d_fn, eps * real + (1.0 - eps) * fake, self.center)


class DraganPenalty(Penalty):
    """DRAGAN (Kodali et al. 2017): the gradient penalty at perturbed reals.
    x_p = x + c·std(x)·U[0, 1) (elementwise), x̂ = x + α(x_p - x), α ~ U[0, 1] per sample."""

    def __init__(self, weight: float = 10.0, c: float = 0.5, center: float = 1.0, every: int = 1):
        super().__init__(weight, every)
        self.c, self.center = float(c), float(center)

    def term(self, step: DStep) -> Tensor:
        real, g = step.real.detach(), step.generator
        noise = torch.rand(real.shape, generator=g, device=real.device, dtype=real.dtype)
        alpha = torch.rand(_per_sample_shape(real), generator=g, device=real.device, dtype=real.dtype)
        return gradient_norm_penalty(step.d_fn, real + alpha * (self.c * real.std() * noise), self.center)


class R1(Penalty):
    """Zero-centred gradient penalty on real data (Mescheder et al. 2018): (γ/2)·E_x[||∇_x D(x)||²], ``weight`` = γ.
    With an augmentation in the bundle the gradient is taken through it (StyleGAN2-ADA's choice)."""

    def __init__(self, weight: float = 10.0, every: int = 1):
        super().__init__(weight, every)

    def samples(self, step: DStep) -> Tensor:
        return step.real

    def term(self, step: DStep) -> Tensor:
        return 0.5 * input_gradient(step.d_fn, self.samples(step)).pow(2).sum(1).mean()


class R2(R1):
    """Zero-centred gradient penalty on generated data (Mescheder et al. 2018): (γ/2)·E_z[||∇ D(G(z))||²]."""

    def samples(self, step: DStep) -> Tensor:
        return step.fake


class LeCam(Penalty):
    """LeCam regularisation (Yu et al. 2021) as the authors' code computes it (google/lecam-gan,
    ``stylegan2/lecam_loss.py``): E_x[relu(D(x) − α_F)²] + E_z[relu(α_R − D(G(z)))²], where α_R and α_F are
    exponential moving averages (``decay``) of D's mean output on real and on generated data, **zero-debiased**
    (``assign_moving_average(…, zero_debias=True)``: the average of n updates divided by 1 − decayⁿ, so the first
    anchors are the batch means, not a value pulled towards 0) and **updated from this D step before the term**
    (the term reads the updated averages). The paper's eq. 3 is the same without the ReLUs. The raw averages and
    the update count are buffers (checkpointed: resume is exact). Needs no second derivative."""

    double_backward = False
    #: ``GANLoss`` calls ``observe`` before the penalty terms of the D step (the term reads this step's update)
    observe_first = True

    def __init__(self, weight: float = 0.3, decay: float = 0.99, every: int = 1):
        super().__init__(weight, every)
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"LeCam: decay={decay}; accepted: a number in [0, 1)")
        self.decay = float(decay)
        self.register_buffer("anchors", torch.zeros(2))  # the raw (biased) averages of (α_R, α_F)
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    def debiased(self) -> Tensor:
        """(α_R, α_F): the raw averages / (1 − decayⁿ) after n updates (0 before the first)."""
        n = int(self.updates)
        return self.anchors / (1.0 - self.decay**n) if n > 0 else self.anchors

    def term(self, step: DStep) -> Tensor:
        anchor_real, anchor_fake = self.debiased().to(step.real_logits.dtype)
        on_real = (step.real_logits - anchor_fake).relu().pow(2).mean()
        return on_real + (anchor_real - step.fake_logits).relu().pow(2).mean()

    def diagnostics(self) -> dict[str, Tensor]:
        anchors = self.debiased()
        return {"lecam_anchor_real": anchors[0], "lecam_anchor_fake": anchors[1]}

    @torch.no_grad()
    def observe(self, step: DStep) -> None:
        """The anchors follow the batch means of D's outputs, averaged over the ranks under DDP (one small
        all-reduce per D step), so every rank holds the same anchors and a resume from rank 0's checkpoint is exact."""
        means = torch.stack([step.real_logits.detach().mean(), step.fake_logits.detach().mean()])
        means = sum_over_ranks(means.to(self.anchors.dtype)) / world_size()
        self.anchors.lerp_(means, 1.0 - self.decay)
        self.updates += 1

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # a checkpoint from before the debiasing (no update count): its anchors were used as they are (factor 1)
        state_dict.setdefault(prefix + "updates", torch.tensor(10**9, dtype=torch.long))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class BalancedConsistency(Penalty):
    """Balanced consistency regularisation, bCR (Zhao et al. 2021, "Improved Consistency Regularization for GANs"):
    λ·(E_x‖D(x) − D(T(x))‖² + E_z‖D(G(z)) − D(T(G(z)))‖²) on D's outputs (logits), ``weight`` = λ for both terms
    (the paper's λ_real = λ_fake = 10). T is its own ``DiffAugment`` (``policy``, default ``translation``: an
    integer shift of up to 1/8 of the size with zero padding); the paper's T, after CR-GAN (Zhang et al. 2020), is a
    random shift by a few pixels plus a horizontal flip — no flip here (DiffAugment has none, and digits are not
    mirror-symmetric). Draws from the run's RNG; differentiates through D once. Both sides of each difference carry
    D's gradient, as in the paper.

    With an augmentation A in the bundle (``loss.augment``), ``step.d_fn`` is D∘A, so bCR sees
    ‖D(A₁(x)) − D(A₂(T(x)))‖² with independent draws A₁, A₂: it then also asks D to be consistent under A."""

    double_backward = False
    #: its T transforms images (NCHW): the preflight refuses it on 2-D point data
    augments_images = True

    def __init__(self, weight: float = 10.0, policy: str = "translation", every: int = 1):
        super().__init__(weight, every)
        self.transform = DiffAugment(policy)

    def term(self, step: DStep) -> Tensor:
        def inconsistency(samples: Tensor, logits: Tensor) -> Tensor:
            moved = step.d_fn(self.transform(samples, step.generator))
            return (logits - moved).reshape(logits.shape[0], -1).pow(2).sum(1).mean()

        return inconsistency(step.real, step.real_logits) + inconsistency(step.fake, step.fake_logits)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", policy={','.join(self.transform.policy)!r}"


class WeightClipping:
    """WGAN's Lipschitz constraint: every discriminator weight clamped to [-clip, clip] after each update."""

    def __init__(self, clip: float = 0.01):
        if clip <= 0:
            raise ValueError(f"WeightClipping: clip={clip} must be > 0")
        self.clip = float(clip)

    @torch.no_grad()
    def apply_(self, params: Iterable[Tensor]) -> None:
        for p in params:
            p.clamp_(-self.clip, self.clip)

    def apply(self, tensor: Tensor) -> Tensor:
        """Out-of-place version for functional (unrolled) parameters."""
        return tensor.clamp(-self.clip, self.clip)

    def __repr__(self) -> str:
        return f"WeightClipping(clip={self.clip})"
