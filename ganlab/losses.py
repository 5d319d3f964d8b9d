"""The adversarial loss zoo.

Every objective works on discriminator *logits* (raw outputs) and knows nothing about networks.
Probabilistic objectives use numerically stable softplus forms:

    log D(x)       = -softplus(-l)        log(1 - D(x)) = -softplus(l)

``GANLoss`` bundles an objective with named penalties (``ganlab.penalties``), an optional weight constraint and
an optional augmentation (``ganlab.augment``); the training step and the unrolled look-ahead both go through it,
so adding a loss is one class here plus one YAML in ``conf/loss/``, and a penalty one class in
``ganlab/penalties.py`` plus one YAML in ``conf/loss/penalty/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DiscriminatorFn = Callable[[Tensor], Tensor]


def _bce_with_logits(logits: Tensor, target: float) -> Tensor:
    """Mean binary cross-entropy of sigmoid(logits) against a constant target, in softplus form."""
    if target == 1.0:
        return F.softplus(-logits).mean()
    if target == 0.0:
        return F.softplus(logits).mean()
    return (target * F.softplus(-logits) + (1.0 - target) * F.softplus(logits)).mean()


class Objective:
    """Base class: ``d_loss`` is minimised by the discriminator, ``g_loss`` by the generator.

    D's loss is the sum of a data term ``d_real`` and a fake term ``d_fake``. ``g_data`` is the data term of G's own
    objective as the objective's paper writes it (None where the paper defines G's loss on fakes only): G can move it
    only through a D that depends on G, i.e. in the second-order unrolled surrogate (``GANLoss.surrogate``)."""

    name: str = "objective"
    #: True when D outputs are unbounded critic values (WGAN family) rather than logits of a probability.
    critic: bool = False
    #: True when ``real_label`` (one-sided label smoothing) changes the D loss.
    uses_labels: bool = False

    def d_real(self, real_logits: Tensor, real_label: float = 1.0) -> Tensor:
        raise NotImplementedError

    def d_fake(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
        return self.d_real(real_logits, real_label) + self.d_fake(fake_logits)

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def g_data(self, real_logits: Tensor, real_label: float = 1.0) -> Tensor | None:
        return None

    def d_output(self, logits: Tensor) -> Tensor:
        """What to report as "D(x)": a probability for BCE objectives, the raw score otherwise."""
        return logits

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Minimax(Objective):
    """Goodfellow et al. 2014. G minimises the *saturating* E[log(1 - D(G(z)))] = -E[softplus(l)]."""

    name = "minimax"
    uses_labels = True

    def d_real(self, real_logits, real_label=1.0):
        return _bce_with_logits(real_logits, real_label)

    def d_fake(self, fake_logits):
        return _bce_with_logits(fake_logits, 0.0)

    def g_loss(self, fake_logits):
        return -F.softplus(fake_logits).mean()

    def g_data(self, real_logits, real_label=1.0):  # zero-sum: G's objective is −(D's)
        return -self.d_real(real_logits, real_label)

    def d_output(self, logits):
        return torch.sigmoid(logits)


class NonSaturating(Minimax):
    """Same D loss; G maximises log D(G(z)), i.e. minimises E[softplus(-l)] (no vanishing gradient)."""

    name = "non_saturating"

    def g_loss(self, fake_logits):
        return F.softplus(-fake_logits).mean()

    def g_data(self, real_logits, real_label=1.0):  # Goodfellow et al. §3: the heuristic is a loss on fakes only
        return None


class LeastSquares(Objective):
    """LSGAN (Mao et al. 2017) with a = 0, b = c = 1 (b = ``real_label``) on raw outputs:
    D: ½E[(D(x) - b)²] + ½E[D(G(z))²];  G: ½E[(D(G(z)) - 1)²]. Mao et al. (§3.2, eq. 2 and the note after it)
    write G's objective with the data term ½E[(D(x) - c)²], dropped because it holds no parameter of G: ``g_data``."""

    name = "lsgan"
    uses_labels = True
    target = 1.0  # c, the value G wants D to output

    def d_real(self, real_logits, real_label=1.0):
        return 0.5 * ((real_logits - real_label) ** 2).mean()

    def d_fake(self, fake_logits):
        return 0.5 * (fake_logits**2).mean()

    def g_loss(self, fake_logits):
        return 0.5 * ((fake_logits - self.target) ** 2).mean()

    def g_data(self, real_logits, real_label=1.0):
        return 0.5 * ((real_logits - self.target) ** 2).mean()


class Wasserstein(Objective):
    """WGAN critic loss E[D(G(z))] - E[D(x)]; G minimises -E[D(G(z))]. Needs a Lipschitz constraint
    (weight clipping or a gradient penalty) from ``ganlab.penalties``."""

    name = "wasserstein"
    critic = True

    def d_real(self, real_logits, real_label=1.0):
        return -real_logits.mean()

    def d_fake(self, fake_logits):
        return fake_logits.mean()

    def g_loss(self, fake_logits):
        return -fake_logits.mean()

    def g_data(self, real_logits, real_label=1.0):  # zero-sum: G's objective is −(D's)
        return -self.d_real(real_logits, real_label)


class Hinge(Objective):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""

    name = "hinge"
    critic = True

    def d_real(self, real_logits, real_label=1.0):
        return F.relu(1.0 - real_logits).mean()

    def d_fake(self, fake_logits):
        return F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits):
        return -fake_logits.mean()


@dataclass
class DiscriminatorLoss:
    total: Tensor
    objective: Tensor
    #: each active penalty's weighted term (lazy ones scaled by their interval), by name
    penalties: dict[str, Tensor]
    real_logits: Tensor
    fake_logits: Tensor

    @property
    def penalty(self) -> Tensor | None:
        """The sum of the penalty terms (None without any)."""
        return sum(self.penalties.values()) if self.penalties else None


@dataclass
class DStep:
    """What a penalty (or an augmentation's controller) sees of one D loss evaluation. ``d_fn`` already includes
    the bundle's augmentation, so a gradient with respect to the inputs flows through it."""

    d_fn: DiscriminatorFn
    real: Tensor
    fake: Tensor
    real_logits: Tensor
    fake_logits: Tensor
    generator: torch.Generator | None
    iteration: int
    #: which of the iteration's ``d_steps`` D steps (0 first): with n_d > 1 they share one real batch
    d_step: int = 0

    @classmethod
    def of(cls, d_fn: DiscriminatorFn, real: Tensor, fake: Tensor, generator=None, iteration: int = 0) -> DStep:
        """A step at (real, fake) outside a bundle: D evaluated on both (e.g. to call a penalty on its own)."""
        return cls(d_fn, real, fake, d_fn(real), d_fn(fake), generator, iteration)


class GANLoss(nn.Module):
    """The D-side plug-in point: an objective, any number of named penalties (``ganlab.penalties``, each with a
    weight and an ``every`` interval for lazy regularisation), an optional constraint on D's weights and an
    optional augmentation applied once around ``d_fn`` — so D's step, G's step, every penalty and the unrolled
    look-ahead all see augmented samples.

    The training step calls ``start(iteration, generator)`` once per iteration (the noise RNG every technique
    draws from, and the iteration lazy penalties count), then ``discriminator`` / ``generator``; nothing else.
    Techniques with state (LeCam's anchors, ADA's probability) are submodules: checkpointed with the model, and
    updated only from the real D step (``observe=True``), never from the look-ahead."""

    def __init__(
        self,
        objective: Objective,
        penalties: Mapping[str, nn.Module] | None = None,
        constraint: object | None = None,  # ganlab.penalties.WeightClipping
        augment: nn.Module | None = None,
        name: str | None = None,
    ):
        super().__init__()
        self.objective = objective
        self.penalties = nn.ModuleDict(dict(penalties or {}))
        self.constraint = constraint
        self.augment = augment
        self.name = name or objective.name
        self.iteration, self.noise = 0, None
        #: Score reals and fakes in one D call on their concatenation (set by the module when D's logits do not
        #: depend on the rest of the batch: ``Discriminator.joint_batches``); not with an augmentation, whose draws
        #: are made per call.
        self.joint = False

    def start(self, iteration: int, generator: torch.Generator | None) -> None:
        """Once per training iteration: the iteration (lazy penalties) and the RNG every technique draws from."""
        self.iteration, self.noise = iteration, generator

    def augmented(self, d_fn: DiscriminatorFn) -> DiscriminatorFn:
        if self.augment is None:
            return d_fn
        augment, noise = self.augment, self.noise
        return lambda x: d_fn(augment(x, noise))

    def discriminator(
        self,
        d_fn: DiscriminatorFn,
        real: Tensor,
        fake: Tensor,
        real_label: float = 1.0,
        observe: bool = False,
        d_step: int = 0,
    ) -> DiscriminatorLoss:
        """D's loss at (real, fake). ``observe``: this is the D step itself (state of LeCam / ADA is updated);
        ``d_step``: its index among the iteration's D steps (ADA counts the shared real batch once)."""
        d_fn = self.augmented(d_fn)
        real_logits, fake_logits = self._logits(d_fn, real, fake)
        objective = self.objective.d_loss(real_logits, fake_logits, real_label)
        step = DStep(d_fn, real, fake, real_logits, fake_logits, self.noise, self.iteration, d_step)
        techniques = [t for t in (*self.penalties.values(), self.augment) if observe and hasattr(t, "observe")]
        for technique in techniques:  # those whose term reads this step's update (LeCam, as its authors)
            if getattr(technique, "observe_first", False):
                technique.observe(step)
        terms = {name: p(step) for name, p in self.penalties.items() if p.active(self.iteration)}
        for technique in techniques:
            if not getattr(technique, "observe_first", False):
                technique.observe(step)
        total = objective + sum(terms.values()) if terms else objective
        return DiscriminatorLoss(total, objective, terms, real_logits, fake_logits)

    def _logits(self, d_fn: DiscriminatorFn, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        if not self.joint or self.augment is not None:
            return d_fn(real), d_fn(fake)
        logits = d_fn(torch.cat([real, fake]))
        split = logits.shape[0] * real.shape[0] // (real.shape[0] + fake.shape[0])  # packs: m samples per logit
        return logits[:split], logits[split:]

    def diagnostics(self) -> dict[str, Tensor]:
        """What the techniques with state report for the logs (ADA's p and r_t, LeCam's anchors), by name."""
        found: dict[str, Tensor] = {}
        for technique in (*self.penalties.values(), self.augment):
            if hasattr(technique, "diagnostics"):
                found.update(technique.diagnostics())
        return found

    def generator(self, d_fn: DiscriminatorFn, fake: Tensor) -> tuple[Tensor, Tensor]:
        fake_logits = self.augmented(d_fn)(fake)
        return self.objective.g_loss(fake_logits), fake_logits

    def surrogate(
        self, d_fn: DiscriminatorFn, real: Tensor, fake: Tensor, real_label: float = 1.0, data_term: str = "game"
    ) -> Tensor:
        """G's objective at a D that depends on G (the second-order look-ahead D_K): G's loss on fakes plus a term on
        the same real batch the look-ahead trained on (``ganlab.common.options.UnrollSurrogate``): ``game`` −(D's
        data term), ``own`` the objective's ``g_data``, ``fake_only`` none. Both go through the augmentation, as D's
        step does; penalties are D's regularisers, not part of the game's value: they shape D's K updates (in the
        look-ahead's D loss), and G's objective does not hold them."""
        if data_term == "fake_only":
            return self.generator(d_fn, fake)[0]
        real_logits, fake_logits = self._logits(self.augmented(d_fn), real, fake)
        g_loss = self.objective.g_loss(fake_logits)
        if data_term == "game":
            return g_loss - self.objective.d_real(real_logits, real_label)
        if data_term != "own":
            raise ValueError(f"unroll_surrogate={data_term!r} is invalid; accepted: game, own, fake_only")
        own = self.objective.g_data(real_logits, real_label)
        return g_loss if own is None else g_loss + own

    def extra_repr(self) -> str:
        return f"name={self.name}, objective={self.objective!r}, constraint={self.constraint!r}"
