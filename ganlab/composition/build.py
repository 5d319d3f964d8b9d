"""Composition: a datamodule, module and trainer from a composed config; a trained module restored from its
checkpoint (``restore_checkpoint``, used by ganlab-eval and ganlab-latent). Imports the core (nets, data, modules,
callbacks) and its own layer (loggers, checkpoints, fit), never ``ganlab.preflight`` or ``ganlab.cli`` above it."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

import ganlab.composition.resolvers  # noqa: F401  (conf/'s resolvers: composing needs them)
import ganlab.composition.schemas  # noqa: F401  (conf/'s schemas: composing needs them)
from ganlab.common.errors import ConfigError, one_line
from ganlab.composition.fit import check_fit, shape_errors_as_config_errors

#: ``optim.<key>`` → the module's keyword argument (other keys, e.g. a classifier's ``optimizer``, pass as named).
OPTIM_KWARGS = {"generator": "optimizer_g", "discriminator": "optimizer_d"}


def build_module(cfg: DictConfig, record_config: bool = True):
    """The LightningModule of a composed config: the model node, with the live loss / optimizer / scheduler
    factories bound after instantiation (Hydra would turn dataclass kwargs back into configs). With
    ``record_config`` the resolved config goes into its checkpoints (needs Hydra's run-time config)."""
    from hydra.utils import instantiate

    from ganlab.composition import lazy_regularisation

    live = {OPTIM_KWARGS.get(key, key): instantiate(node) for key, node in (cfg.get("optim") or {}).items()}
    if cfg.get("loss") is not None:
        live["loss"] = instantiate(cfg.loss)
        lazy_regularisation.apply(live)  # D's optimizer slowed by N / (N + 1) for penalties every N iterations
    with shape_errors_as_config_errors():
        module = instantiate(cfg.model, _partial_=True)(**live)
    if record_config:
        module.run_config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return module


def build(cfg: DictConfig, resume_ckpt: str | None = None):
    """Instantiate (datamodule, module, trainer) from a composed config (outputs go to ``cfg.paths.run_dir``);
    ``resume_ckpt``: the checkpoint the run will continue (checked to fit; a W&B run continues its run id)."""
    import pytorch_lightning as pl
    from hydra.utils import instantiate

    from ganlab.composition.checkpoints import check_fits, read_checkpoint
    from ganlab.composition.loggers import build_logger, logger_callbacks
    from ganlab.composition.profiler import NullProfiler

    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    module = build_module(cfg)
    check_fit(datamodule, module)
    if resume_ckpt is not None:
        check_fits(read_checkpoint(resume_ckpt), module, "ckpt_path", resume_ckpt)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    logger = build_logger(cfg, resume_ckpt)
    callbacks += logger_callbacks(logger)
    from ganlab.composition.distributed import with_collective_timeout

    trainer = instantiate(
        cfg.trainer,
        # a DDP strategy's collectives get the run's timeout ("auto" is Lightning's default)
        strategy=with_collective_timeout(cfg.trainer.get("strategy") or "auto", cfg.get("collective_timeout_s")),
        callbacks=callbacks,
        logger=logger,
        plugins=cluster_plugins(),
        enable_progress_bar=progress_bar(cfg.trainer.get("enable_progress_bar", True)),
        **({} if cfg.trainer.get("profiler") else {"profiler": NullProfiler()}),
    )
    keep_deterministic_without_fill()
    return datamodule, module, trainer


def keep_deterministic_without_fill() -> None:
    """``trainer.deterministic=true`` turns on ``torch.use_deterministic_algorithms``, which by default also writes NaN
    into the memory of every new uninitialised tensor (a debugging aid: a read of it shows). No correct op reads that
    memory, so results are unchanged; the writes cost 0–12 % of a ring iteration, ≈ 5 % in the median of four runs
    (``python -m experiments.bench.fastpath --only deterministic_fill``)."""
    import torch

    torch.utils.deterministic.fill_uninitialized_memory = False


def progress_bar(setting) -> bool:
    """``trainer.enable_progress_bar``: true, false, or ``auto`` — a bar only when the output is a terminal (in a
    log file, a Slurm job or CI it redraws into the file and costs 0.5–2 ms per iteration)."""
    if setting == "auto":
        return sys.stdout.isatty()
    return bool(setting)


def experiment_dir(cfg: DictConfig) -> Path:
    """Where the runs of this experiment live (``ckpt_path=last`` looks there)."""
    return Path(cfg.paths.output_root) / str(cfg.task) / str(cfg.name)


def cluster_plugins() -> list:
    """Checkpoints written in the run folder only (``composition/checkpoint_io.py``); on Slurm, Lightning's own
    auto-requeue is off: requeueing has one owner (``callbacks/run_checkpoint.py``)."""
    from lightning_fabric.plugins.environments import SLURMEnvironment

    from ganlab.composition.checkpoint_io import RunFolderCheckpointIO

    return [RunFolderCheckpointIO()] + ([SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else [])


# --------------------------------------------------------------------------- restoring a trained module
def load_checkpoint(path: str) -> tuple[dict, DictConfig]:
    """(checkpoint dict, the run config it was trained with); ConfigError for a missing or foreign file."""
    from ganlab.composition.checkpoints import read_checkpoint

    checkpoint = read_checkpoint(path, key="ckpt")
    config = (checkpoint.get("ganlab") or {}).get("config")
    if not config:
        raise ConfigError(f"ckpt={path} holds no ganlab run configuration; accepted: a checkpoint of ganlab-train")
    return checkpoint, OmegaConf.create(config)


def restore(checkpoint: dict, run_cfg: DictConfig, data_root: str | None):
    """(datamodule, module with the checkpoint's weights, in eval mode)."""
    from hydra.utils import instantiate

    if data_root and "root" in run_cfg.data:
        run_cfg.data.root = data_root
    datamodule = instantiate(run_cfg.data)
    module = build_module(run_cfg)
    try:
        module.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as exc:
        raise ConfigError(f"checkpoint weights do not fit its own configuration: {one_line(exc)[:200]}") from None
    if hasattr(module, "on_load_checkpoint"):
        module.on_load_checkpoint(checkpoint)
    return datamodule, module.eval()


def restore_checkpoint(path: str, data_root: str | None = None):
    """(datamodule, module in eval mode) of a ganlab checkpoint file; ConfigError for a missing or foreign file."""
    checkpoint, run_cfg = load_checkpoint(str(path))
    return restore(checkpoint, run_cfg, None if data_root is None else str(data_root))
