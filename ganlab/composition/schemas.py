"""Structured-config schemas (dataclasses in Hydra's ConfigStore): the one declaration of each engine setting — its
type, its default and its accepted values (``setting(default, check, accepted)``: field metadata, read by
``ganlab/preflight/rules.py``). The constructors (``ganlab/modules/``, ``ganlab/losses.py``) hold the behaviour; the
preset YAMLs (``conf/model/*.yaml``, ``conf/loss/*.yaml``) name a schema in their defaults list
(``/schema/model@_here_: gan``) and state only what differs from it. ``tests/test_schemas.py`` keeps the
constructors' defaults equal to these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING

from ganlab.common.options import UnrollMode, UnrollSurrogate, Update
from ganlab.common.validators import (
    MAX_STEPS_PER_ITERATION,
    STEPS,
    Rule,
    int_in,
    is_number,
    number_in,
    one_of,
    optional,
)


def setting(default: Any, check: Callable[[Any], bool] | None = None, accepted: str = "") -> Any:
    """A schema field whose value must pass ``check`` (described by ``accepted`` in error messages)."""
    return field(default=default, metadata={"check": check, "accepted": accepted} if check else {})


def schema_rules(prefix: str, *schemas: type) -> list[Rule]:
    """``Rule``s of the schemas' checked fields, keyed ``<prefix>.<field>`` (each key once)."""
    rules: dict[str, Rule] = {}
    for schema in schemas:
        for f in fields(schema):
            if f.metadata.get("check") is not None:
                rules.setdefault(f.name, Rule(f"{prefix}.{f.name}", f.metadata["check"], f.metadata["accepted"]))
    return list(rules.values())


_POSITIVE_INT_OR_NULL = (optional(int_in(1)), "null or an integer >= 1")


# --------------------------------------------------------------------------- losses
@dataclass
class GANLossSchema:
    """``GANLoss``: an objective, named penalties (``+loss/penalty=r1``, ``loss/penalty=[gp,r1]``), an optional weight
    constraint and an optional augmentation (``+loss/augment=…``); all ``_target_`` nodes."""

    _target_: str = "ganlab.losses.GANLoss"
    name: str = MISSING
    objective: Any = MISSING
    penalties: dict[str, Any] = field(default_factory=dict)
    constraint: Any = None
    augment: Any = None


@dataclass
class BEGANLossSchema:
    """``BEGANLoss``: L1 autoencoder losses with the k_t controller (Berthelot et al. 2017)."""

    _target_: str = "ganlab.modules.began.BEGANLoss"
    #: diversity ratio γ = E[L(G(z))] / E[L(x)]
    gamma: float = setting(0.5, number_in(0.0, 1.0, low_open=True), "a number in (0, 1]")
    #: proportional gain of k_t
    lambda_k: float = setting(0.001, lambda v: is_number(v) and v >= 0.0, "a number >= 0")


# --------------------------------------------------------------------------- models
@dataclass
class GenerativeModelSchema:
    """Settings of every ``GenerativeModule`` (``ganlab/modules/base.py``)."""

    latent_dim: int = setting(256, int_in(1), "an integer >= 1")
    scheduler_interval: str = setting("iteration", one_of("iteration", "epoch"), "iteration, epoch")
    #: training length in iterations (null: trainer.max_epochs, as image runs do)
    max_iterations: int | None = setting(None, *_POSITIVE_INT_OR_NULL)
    #: the latent-noise RNG's seed: the run's seed unless set
    noise_seed: int = II("seed")
    log_every_n_iterations: int | None = setting(None, *_POSITIVE_INT_OR_NULL)


@dataclass
class AdversarialModelSchema(GenerativeModelSchema):
    """Settings every adversarial module shares (networks are free-form ``_target_`` nodes)."""

    #: p(z): normal, or uniform on [-1, 1]
    latent_prior: str = setting("normal", one_of("normal", "uniform"), "normal, uniform")
    #: a moving average of G for evaluation (``+model/ema=default``; ``ganlab/modules/ema.py``)
    ema: Any = None
    generator: Any = MISSING
    discriminator: Any = MISSING


_CLIP = (optional(lambda v: is_number(v) and v > 0), "null or a number > 0")


@dataclass
class GANModelSchema(AdversarialModelSchema):
    """``GANModule``: n_d / n_g steps, unrolling, label smoothing, gradient clipping, the update rule."""

    _target_: str = "ganlab.modules.GANModule"
    #: D steps per iteration (the report's -ds)
    d_steps: int = setting(1, int_in(1, MAX_STEPS_PER_ITERATION), STEPS)
    #: G steps per iteration (the report's -gs)
    g_steps: int = setting(1, int_in(1, MAX_STEPS_PER_ITERATION), STEPS)
    #: k, look-ahead steps of D in each G step (the report's -k)
    unroll_steps: int = setting(0, int_in(0, MAX_STEPS_PER_ITERATION), f"an integer in [0, {MAX_STEPS_PER_ITERATION}]")
    unroll_mode: UnrollMode = UnrollMode.first_order
    #: G's objective at a second-order look-ahead: game (Metz et al.'s f_K), own (the loss's paper), fake_only
    unroll_surrogate: UnrollSurrogate = UnrollSurrogate.game
    #: one-sided label smoothing: 0.9
    real_label: float = setting(1.0, number_in(0.0, 1.0, low_open=True), "a number in (0, 1]")
    grad_clip_g: float | None = setting(None, *_CLIP)
    grad_clip_d: float | None = setting(None, *_CLIP)
    update_rule: Update = Update.alternating


@dataclass
class BEGANModelSchema(AdversarialModelSchema):
    """``BEGANModule`` (γ and λ_k live in ``loss=began``)."""

    _target_: str = "ganlab.modules.BEGANModule"
    latent_dim: int = setting(64, int_in(1), "an integer >= 1")
    k_init: float = setting(0.0, number_in(0.0, 1.0), "a number in [0, 1]")
    lr_plateau_window: int | None = setting(None, *_POSITIVE_INT_OR_NULL)
    lr_plateau_patience: int = setting(3, int_in(0), "an integer >= 0")
    lr_plateau_factor: float = setting(0.5, number_in(0.0, 1.0, low_open=True, high_open=True), "a number in (0, 1)")


@dataclass
class AutoEncoderModelSchema(GenerativeModelSchema):
    """``AutoEncoderModule`` (networks and the weight schedule are ``_target_`` nodes)."""

    _target_: str = "ganlab.modules.AutoEncoderModule"
    latent_dim: int = setting(100, int_in(1), "an integer >= 1")
    #: moments over all code entries of the batch (pooled, the report's), or per dimension
    z_pooling: str = setting("pooled", one_of("pooled", "per_dimension"), "pooled, per_dimension")
    #: the kurtosis regulariser's weight schedule (null: none; its moments are still logged)
    z_weight: Any = None
    encoder: Any = MISSING
    decoder: Any = MISSING


MODEL_SCHEMAS = {"gan": GANModelSchema, "began": BEGANModelSchema, "autoencoder": AutoEncoderModelSchema}
LOSS_SCHEMAS = {"gan": GANLossSchema, "began": BEGANLossSchema}


def register_schemas() -> None:
    store = ConfigStore.instance()
    for name, node in MODEL_SCHEMAS.items():
        store.store(group="schema/model", name=name, node=node)
    for name, node in LOSS_SCHEMAS.items():
        store.store(group="schema/loss", name=name, node=node)


register_schemas()
