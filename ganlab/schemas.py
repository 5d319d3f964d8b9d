"""Structured-config schemas (dataclasses in Hydra's ConfigStore): a model config that names one of them gets
its keys typed and checked at compose time (``/schema/model@_here_: gan`` in its defaults list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from ganlab.options import UnrollMode, Update


@dataclass
class AdversarialModelSchema:
    """Settings every adversarial module shares (networks are free-form ``_target_`` nodes)."""

    latent_dim: int = 256
    scheduler_interval: str = "iteration"
    max_iterations: int | None = None
    noise_seed: int = 0
    log_every_n_iterations: int | None = None
    latent_prior: str = "normal"
    generator: Any = MISSING
    discriminator: Any = MISSING


@dataclass
class GANModelSchema(AdversarialModelSchema):
    """Typed engine settings of ``GANModule``."""

    _target_: str = "ganlab.modules.GANModule"
    d_steps: int = 1
    g_steps: int = 1
    unroll_steps: int = 0
    unroll_mode: UnrollMode = UnrollMode.first_order
    real_label: float = 1.0
    grad_clip_g: float | None = None
    grad_clip_d: float | None = None
    update_rule: Update = Update.alternating


@dataclass
class BEGANModelSchema(AdversarialModelSchema):
    """Typed settings of ``BEGANModule`` (γ and λ_k live in ``loss=began``)."""

    _target_: str = "ganlab.modules.BEGANModule"
    latent_dim: int = 64
    k_init: float = 0.0
    lr_plateau_window: int | None = None
    lr_plateau_patience: int = 3
    lr_plateau_factor: float = 0.5


@dataclass
class AutoEncoderModelSchema:
    """Typed settings of ``AutoEncoderModule`` (networks and the weight schedule are ``_target_`` nodes)."""

    _target_: str = "ganlab.modules.AutoEncoderModule"
    latent_dim: int = 100
    z_pooling: str = "pooled"
    z_weight: Any = None
    scheduler_interval: str = "iteration"
    max_iterations: int | None = None
    noise_seed: int = 0
    log_every_n_iterations: int | None = None
    encoder: Any = MISSING
    decoder: Any = MISSING


def register_schemas() -> None:
    ConfigStore.instance().store(group="schema/model", name="gan", node=GANModelSchema)
    ConfigStore.instance().store(group="schema/model", name="began", node=BEGANModelSchema)
    ConfigStore.instance().store(group="schema/model", name="autoencoder", node=AutoEncoderModelSchema)


register_schemas()
