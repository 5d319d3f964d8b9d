"""The adversarial loss zoo.

Every objective works on discriminator *logits* (raw outputs) and knows nothing about networks.
Probabilistic objectives use numerically stable softplus forms:

    log D(x)       = -softplus(-l)        log(1 - D(x)) = -softplus(l)

``GANLoss`` bundles an objective with an optional penalty (``ganlab.penalties``) and an optional
weight constraint; the training step and the unrolled look-ahead both go through it, so adding a loss
is one class here plus one YAML in ``conf/loss/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

DiscriminatorFn = Callable[[Tensor], Tensor]


def _bce_with_logits(logits: Tensor, target: float) -> Tensor:
    """Mean binary cross-entropy of sigmoid(logits) against a constant target, in softplus form."""
    if target == 1.0:
        return F.softplus(-logits).mean()
    if target == 0.0:
        return F.softplus(logits).mean()
    return (target * F.softplus(-logits) + (1.0 - target) * F.softplus(logits)).mean()


class Objective:
    """Base class: ``d_loss`` is minimised by the discriminator, ``g_loss`` by the generator."""

    name: str = "objective"
    #: True when D outputs are unbounded critic values (WGAN family) rather than logits of a probability.
    critic: bool = False
    #: True when ``real_label`` (one-sided label smoothing) changes the D loss.
    uses_labels: bool = False

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def d_output(self, logits: Tensor) -> Tensor:
        """What to report as "D(x)": a probability for BCE objectives, the raw score otherwise."""
        return logits

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Minimax(Objective):
    """Goodfellow et al. 2014. G minimises the *saturating* E[log(1 - D(G(z)))] = -E[softplus(l)]."""

    name = "minimax"
    uses_labels = True

    def d_loss(self, real_logits, fake_logits, real_label=1.0):
        return _bce_with_logits(real_logits, real_label) + _bce_with_logits(fake_logits, 0.0)

    def g_loss(self, fake_logits):
        return -F.softplus(fake_logits).mean()

    def d_output(self, logits):
        return torch.sigmoid(logits)


class NonSaturating(Minimax):
    """Same D loss; G maximises log D(G(z)), i.e. minimises E[softplus(-l)] (no vanishing gradient)."""

    name = "non_saturating"

    def g_loss(self, fake_logits):
        return F.softplus(-fake_logits).mean()


class LeastSquares(Objective):
    """LSGAN (Mao et al. 2017) with a = 0, b = c = 1 (b = ``real_label``) on raw outputs:
    D: ½E[(D(x) - b)²] + ½E[D(G(z))²];  G: ½E[(D(G(z)) - 1)²]."""

    name = "lsgan"
    uses_labels = True

    def d_loss(self, real_logits, fake_logits, real_label=1.0):
        return 0.5 * ((real_logits - real_label) ** 2).mean() + 0.5 * (fake_logits**2).mean()

    def g_loss(self, fake_logits):
        return 0.5 * ((fake_logits - 1.0) ** 2).mean()


class Wasserstein(Objective):
    """WGAN critic loss E[D(G(z))] - E[D(x)]; G minimises -E[D(G(z))]. Needs a Lipschitz constraint
    (weight clipping or a gradient penalty) from ``ganlab.penalties``."""

    name = "wasserstein"
    critic = True

    def d_loss(self, real_logits, fake_logits, real_label=1.0):
        return fake_logits.mean() - real_logits.mean()

    def g_loss(self, fake_logits):
        return -fake_logits.mean()


class Hinge(Objective):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""

    name = "hinge"
    critic = True

    def d_loss(self, real_logits, fake_logits, real_label=1.0):
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits):
        return -fake_logits.mean()


@dataclass
class DiscriminatorLoss:
    total: Tensor
    objective: Tensor
    penalty: Tensor | None
    real_logits: Tensor
    fake_logits: Tensor


@dataclass
class GANLoss:
    """An objective plus an optional penalty (needs D) and an optional constraint on D's weights."""

    objective: Objective
    penalty: object | None = None  # ganlab.penalties.Penalty
    constraint: object | None = None  # ganlab.penalties.WeightClipping
    name: str | None = None

    def __post_init__(self) -> None:
        self.name = self.name or self.objective.name

    def discriminator(
        self,
        d_fn: DiscriminatorFn,
        real: Tensor,
        fake: Tensor,
        real_label: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> DiscriminatorLoss:
        real_logits, fake_logits = d_fn(real), d_fn(fake)
        objective = self.objective.d_loss(real_logits, fake_logits, real_label)
        penalty = None
        total = objective
        if self.penalty is not None:
            penalty = self.penalty(d_fn, real, fake, generator=generator)
            total = objective + penalty
        return DiscriminatorLoss(total, objective, penalty, real_logits, fake_logits)

    def generator(self, d_fn: DiscriminatorFn, fake: Tensor) -> tuple[Tensor, Tensor]:
        fake_logits = d_fn(fake)
        return self.objective.g_loss(fake_logits), fake_logits
