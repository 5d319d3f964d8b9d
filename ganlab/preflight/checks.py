"""Preflight: what a composed ``ganlab-train`` config must satisfy beyond per-key rules (``ganlab/preflight/rules.py``):
cross-key checks, a dry build of what the run builds first (optimizers, schedulers, callbacks), and a resume
checkpoint that fits. Every failure is a one-line ``ConfigError``, raised before Hydra writes anything."""

from __future__ import annotations

from enum import Enum

from omegaconf import DictConfig, OmegaConf

from ganlab.common.errors import CONF_DIR, ConfigError, one_line
from ganlab.common.options import UnrollMode, Update
from ganlab.common.validators import is_int
from ganlab.composition.schemas import BEGANLossSchema, BEGANModelSchema
from ganlab.preflight.norm_rules import check_discriminator_norm
from ganlab.preflight.resume_rules import check_resume, resume_path
from ganlab.preflight.rules import RULES, check_rules


def validate(cfg: DictConfig) -> None:
    """Range checks that types alone cannot express, cross-key checks, then a dry build of what the run builds
    first (optimizers, schedulers, callbacks): every mistake surfaces here, before Hydra writes anything."""
    check_rules(cfg, RULES)
    resumed = resume_path(cfg)  # first: a missing file is refused before any class import (Lightning)
    _check_model_fits_loss(cfg)
    _check_simultaneous_steps(cfg)
    _check_sync_batchnorm(cfg)
    _check_accelerator(cfg)
    _check_pack_divides_batch(cfg)
    _check_one_training_subset(cfg)
    _check_augment_fits_data(cfg)
    _check_spectral_norm_without_clipping(cfg)
    check_discriminator_norm(cfg)
    _check_metric_callbacks_fit_model(cfg)
    if cfg.get("model") is not None and "unroll_steps" in cfg.model:
        _check_optimizer_for_unrolling(cfg)
    _dry_build(cfg)
    check_resume(cfg, resumed)


def _check_accelerator(cfg: DictConfig) -> None:
    accelerator = OmegaConf.select(cfg, "trainer.accelerator", default=None)
    if accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"trainer.accelerator={accelerator}: no CUDA GPU is visible on this machine "
                "(torch.cuda.is_available() is False); accepted: trainer=cpu or trainer=ddp_cpu here"
            )


def _check_one_training_subset(cfg: DictConfig) -> None:
    size = OmegaConf.select(cfg, "data.train_size", default=None)
    fraction = OmegaConf.select(cfg, "data.train_fraction", default=1.0)
    if size is not None and fraction != 1.0:
        raise ConfigError(
            f"data.train_size={size} with data.train_fraction={fraction}: two sizes for one training subset; "
            "accepted: one of the two"
        )
    batch = OmegaConf.select(cfg, "data.batch_size", default=None)
    if is_int(size) and is_int(batch) and size < batch:
        raise ConfigError(
            f"data.train_size={size} is smaller than data.batch_size={batch} (no full batch to train on); "
            f"accepted: data.train_size >= {batch}, or a smaller data.batch_size"
        )


def _check_pack_divides_batch(cfg: DictConfig) -> None:
    """PacGAN packs m samples per D input: a batch that m does not divide would drop samples every step."""
    pack = OmegaConf.select(cfg, "model.discriminator.pack", default=1) or 1
    batch = OmegaConf.select(cfg, "data.batch_size", default=None)
    if is_int(pack) and is_int(batch) and pack > 1 and batch % pack:
        raise ConfigError(
            f"model.discriminator.pack={pack} does not divide data.batch_size={batch} ({batch % pack} samples "
            f"of every batch would be dropped); accepted: a batch size that is a multiple of {pack}"
        )


def _option_name(node: DictConfig, group: str) -> str:
    """The ``conf/<group>`` option ``node`` was most likely composed from: one with its ``_target_``, preferring one
    whose plain string settings it still has (ring and grid share a class, not a ``mixture``); else the class name."""
    target = str(node.get("_target_", "?"))
    same_class, same_strings = [], []
    for path in sorted((CONF_DIR / group).glob("*.yaml")):
        option = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        if option.get("_target_") != target:
            continue
        same_class.append(path.stem)
        plain = {k: v for k, v in option.items() if isinstance(v, str) and "${" not in v}
        if all(node.get(k) == v for k, v in plain.items()):
            same_strings.append(path.stem)
    return (same_strings or same_class or [target.rsplit(".", 1)[-1]])[0]


def _check_augment_fits_data(cfg: DictConfig) -> None:
    """DiffAugment / ADA and bCR's transform work on NCHW images: on samples of another shape (the 2-D points of
    data=ring / grid) they cannot run. The data's kind comes from ``data.shape`` (C, H, W for images), so no data
    module (and no Lightning) is imported."""
    shape = OmegaConf.select(cfg, "data.shape", default=None)
    if shape is None or len(shape) == 3:
        return
    from hydra.utils import get_class

    augmenting = []
    augment = OmegaConf.select(cfg, "loss.augment", default=None)
    if isinstance(augment, DictConfig) and "_target_" in augment:
        augmenting.append(f"loss.augment={_option_name(augment, 'loss/augment')}")
    for name, node in (OmegaConf.select(cfg, "loss.penalties", default=None) or {}).items():
        if getattr(get_class(node._target_), "augments_images", False):
            augmenting.append(f"loss.penalties.{name}")
    if augmenting:
        data = _option_name(cfg.data, "data")
        kind = "2-D points" if list(shape) == [2] else f"samples of shape {list(shape)}"
        raise ConfigError(
            f"{augmenting[0]} augments images but data={data} holds {kind}; "
            f"accepted: an image dataset, or no {augmenting[0].split('=')[0]}"
        )


def _check_metric_callbacks_fit_model(cfg: DictConfig) -> None:
    """A metric callback that needs images, or a conditional (intra-class FID) or an unconditional generator
    (inversion searches z only), says so through its class's ``needs_images`` / ``needs_conditional``."""
    from hydra.utils import get_class

    shape = OmegaConf.select(cfg, "data.shape", default=None)
    conditional = bool(OmegaConf.select(cfg, "model.generator.num_classes", default=None))
    for key, node in (cfg.get("callbacks") or {}).items():
        if not (isinstance(node, DictConfig) and "_target_" in node):
            continue
        cls = get_class(node._target_)
        wants = getattr(cls, "needs_conditional", None)
        if getattr(cls, "needs_images", False) and shape is not None and len(shape) != 3:
            raise ConfigError(
                f"callbacks.{key} scores images but data={_option_name(cfg.data, 'data')} holds samples of shape "
                f"{list(shape)}; accepted: an image dataset, or no callbacks.{key}"
            )
        if wants is not None and wants != conditional:
            need = "a conditional" if wants else "an unconditional"
            classes = OmegaConf.select(cfg, "model.generator.num_classes", default=None)
            kind = "conditional" if conditional else "unconditional"
            raise ConfigError(
                f"callbacks.{key} needs {need} generator but {cfg.get('name', 'this run')}'s is {kind}"
                f" (model.generator.num_classes={classes}); "
                f"accepted: {need} model{' (e.g. experiment=mnist_cgan)' if wants else ''}, or no callbacks.{key}"
            )


def _check_spectral_norm_without_clipping(cfg: DictConfig) -> None:
    """Weight clipping clamps D's weights after each step; spectral norm re-parametrises them (W / σ(W)): clipping
    the underlying weights fights the normalisation and bounds nothing the normalisation does not already."""
    constraint = OmegaConf.select(cfg, "loss.constraint", default=None)
    if not OmegaConf.select(cfg, "model.discriminator.spectral_norm", default=False) or constraint is None:
        return
    from hydra.utils import get_class

    from ganlab.penalties import WeightClipping

    if issubclass(get_class(constraint._target_), WeightClipping):
        raise ConfigError(
            f"model.discriminator.spectral_norm=true cannot be combined with loss={cfg.loss.get('name', '?')}'s "
            "weight clipping (two Lipschitz constraints on the same weights); accepted: "
            "model.discriminator.spectral_norm=false, or a loss without clipping (e.g. loss=hinge, loss=wgan_gp)"
        )


def _dry_build(cfg: DictConfig) -> None:
    """Instantiate the optimizers (on a dummy parameter), their schedulers and the callbacks: their own checks
    (torch's "Invalid learning rate", a callback's setting) become one-line errors naming the key."""
    import torch
    from hydra.utils import instantiate

    dummy = [torch.nn.Parameter(torch.zeros(1))]
    optim = cfg.get("optim") or {}
    owner = None
    for key in sorted(optim, key=lambda k: "scheduler" in str(k)):  # optimizers first, then schedulers
        node = optim[key]
        if node is None:
            continue
        with _as_config_error(f"optim.{key}"):
            factory = instantiate(node)
            if not callable(factory):
                continue
            if "scheduler" not in str(key):
                owner = factory(dummy)
            elif isinstance(owner, torch.optim.Optimizer):
                factory(owner)
    for key, node in (cfg.get("callbacks") or {}).items():
        if isinstance(node, DictConfig) and "_target_" in node:
            with _as_config_error(f"callbacks.{key}"):
                instantiate(node, **_placeholder_paths(node))


def _placeholder_paths(node: DictConfig) -> dict:
    """Arguments that need Hydra's run time (``${paths.run_dir}``): a placeholder (constructors don't write)."""
    out = {}
    for name in node:
        try:
            OmegaConf.select(node, str(name), throw_on_resolution_failure=True)
        except Exception:
            out[str(name)] = "."
    return out


class _as_config_error:
    """ValueError / TypeError of a constructor → ConfigError naming the config key."""

    def __init__(self, key: str):
        self.key = key

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None:
            return False
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, ConfigError):
            raise cause from None
        if isinstance(cause, ValueError | TypeError):
            message = one_line(cause)[:300]
            accepted = "" if "accepted" in message else f"; accepted: the values {self.key}'s constructor takes"
            raise ConfigError(f"{self.key}: {message}{accepted}") from None
        return False  # anything else (a missing file …) is the real run's to report


def _choice(cfg: DictConfig, key: str, options: type[Enum]) -> Enum | None:
    """The member of ``options`` that ``key`` holds (the schema gives an enum, a plain config a string)."""
    value = OmegaConf.select(cfg, key, default=None)
    try:
        return options(value.value if isinstance(value, Enum) else value)
    except ValueError:
        return None


def _check_model_fits_loss(cfg: DictConfig) -> None:
    """A model schema names the loss schema it trains with (``loss_schema``): BEGAN's autoencoder D and its L1
    losses only make sense together. Checked on the composed nodes' schema classes."""
    model, loss = cfg.get("model"), cfg.get("loss")
    if model is None or loss is None:
        return
    model_type, loss_type = OmegaConf.get_type(model), OmegaConf.get_type(loss)
    began_model = isinstance(model_type, type) and issubclass(model_type, BEGANModelSchema)
    began_loss = isinstance(loss_type, type) and issubclass(loss_type, BEGANLossSchema)
    if began_model and not began_loss:
        raise ConfigError(f"loss={loss.get('name', '?')} does not fit model=began; accepted: loss=began")
    if began_loss and not began_model:
        raise ConfigError("loss=began needs BEGAN's autoencoder discriminator; accepted: model=began")


def _check_simultaneous_steps(cfg: DictConfig) -> None:
    """Simultaneous updates take one gradient per player at one point: no n_d / n_g step loops."""
    if _choice(cfg, "model.update_rule", Update) is Update.simultaneous:
        steps = (OmegaConf.select(cfg, "model.d_steps", default=1), OmegaConf.select(cfg, "model.g_steps", default=1))
        if steps != (1, 1):
            raise ConfigError(
                f"model.update_rule=simultaneous takes one step per player, got model.d_steps={steps[0]} "
                f"model.g_steps={steps[1]}; accepted: d_steps=1 g_steps=1, or model.update_rule=alternating"
            )


def _check_sync_batchnorm(cfg: DictConfig) -> None:
    """SyncBatchNorm has no double backward: gradient penalties and second-order unrolling need one."""
    if not OmegaConf.select(cfg, "trainer.sync_batchnorm", default=False):
        return
    from hydra.utils import get_class

    penalties = OmegaConf.select(cfg, "loss.penalties", default=None) or {}
    twice = [name for name, node in penalties.items() if getattr(get_class(node._target_), "double_backward", True)]
    unrolled = OmegaConf.select(cfg, "model.unroll_steps", default=0)
    second_order = unrolled and _choice(cfg, "model.unroll_mode", UnrollMode) is UnrollMode.second_order
    if twice or second_order:
        needs = (
            f"loss.penalties.{twice[0]} (loss={cfg.loss.get('name', '?')})"
            if twice
            else "model.unroll_mode=second_order"
        )
        raise ConfigError(
            f"trainer.sync_batchnorm=true cannot be used with {needs} (SyncBatchNorm has no double backward); "
            "accepted: trainer.sync_batchnorm=false, or a discriminator without BatchNorm"
        )


def _check_optimizer_for_unrolling(cfg: DictConfig) -> None:
    """The look-ahead replays D's optimizer functionally: only the classes it reproduces (``unroll.SUPPORTED``)."""
    target = OmegaConf.select(cfg, "optim.discriminator._target_", default=None)
    if not cfg.model.unroll_steps or not target:
        return
    from hydra.utils import get_class

    from ganlab.unroll import SUPPORTED

    try:
        optimizer = get_class(str(target))
    except Exception:
        optimizer = None  # not a class: the dry build names the problem
    if optimizer is not None and optimizer not in SUPPORTED:
        raise ConfigError(
            f"optim.discriminator._target_={target} cannot be unrolled; accepted: "
            + ", ".join(f"torch.optim.{c.__name__}" for c in SUPPORTED)
        )
