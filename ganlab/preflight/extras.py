"""Optional packages (the wheel's extras): a setting that needs one that is not installed is refused in one line
naming the extra to install, before anything is written. Only ``importlib.util.find_spec``: nothing is imported."""

from __future__ import annotations

import importlib.util

from omegaconf import DictConfig, OmegaConf

from ganlab.common.errors import ConfigError

#: extra → (the module it provides, what it is for)
EXTRAS = {
    "wandb": ("wandb", "Weights & Biases logging"),
    "slurm": ("hydra_plugins.hydra_submitit_launcher", "Slurm jobs through hydra-submitit-launcher"),
    "inception": ("torch_fidelity", "the 2015-12-05 Inception features of FID / KID / IS"),
    "search": ("hydra_plugins.hydra_optuna_sweeper", "Optuna's search over a sweep's settings"),
    "tensorboard": ("tensorboard", "TensorBoard logging"),
}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def require(extra: str, setting: str, instead: str) -> None:
    """ConfigError naming ``setting`` when the extra's package is not installed."""
    module, purpose = EXTRAS[extra]
    if not installed(module):
        raise ConfigError(
            f"{setting} needs {purpose}, which is not installed; accepted: pip install 'ganlab[{extra}]', or {instead}"
        )


def check_extras(cfg: DictConfig, launcher: str | None = None) -> None:
    """The run's logger, metric extractors and Hydra launcher against the installed extras."""
    logger = OmegaConf.select(cfg, "logger", default=None)
    chosen = str(OmegaConf.to_container(logger, resolve=False)).lower() if logger is not None else ""
    if "wandb" in chosen:
        require("wandb", "logger=wandb", "logger=csv")
    if "tensorboardlogger" in chosen:
        require("tensorboard", "logger=tensorboard", "logger=csv")
    callbacks = OmegaConf.select(cfg, "callbacks", default=None) or {}
    for name, node in callbacks.items():
        if isinstance(node, DictConfig) and node.get("extractor") == "inception":
            require("inception", f"callbacks.{name}.extractor=inception", "extractor=classifier")
    if launcher in ("slurm", "submitit_slurm", "submitit_local"):
        require("slurm", f"hydra/launcher={launcher}", "the basic launcher")
