"""``ganlab-train``: compose → instantiate → ``trainer.fit(ckpt_path=…)``.

Entry points only compose and instantiate; everything else lives in the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from ganlab.config import CONF_DIR, PRIMARY, ConfigError, checked_ckpt_path, preflight
from ganlab.fit_checks import check_fit, shape_errors_as_config_errors

#: ``optim.<key>`` → the module's keyword argument (other keys, e.g. a classifier's ``optimizer``, pass as named).
OPTIM_KWARGS = {"generator": "optimizer_g", "discriminator": "optimizer_d"}


def build_module(cfg: DictConfig):
    """The LightningModule of a composed config: the model node, with the live loss / optimizer / scheduler
    factories bound after instantiation (Hydra would turn dataclass kwargs back into configs)."""
    from hydra.utils import instantiate

    live = {OPTIM_KWARGS.get(key, key): instantiate(node) for key, node in (cfg.get("optim") or {}).items()}
    if cfg.get("loss") is not None:
        live["loss"] = instantiate(cfg.loss)
    with shape_errors_as_config_errors():
        module = instantiate(cfg.model, _partial_=True)(**live)
    module.run_config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return module


def build(cfg: DictConfig):
    """Instantiate (datamodule, module, trainer) from a composed config (outputs go to ``cfg.paths.run_dir``)."""
    import pytorch_lightning as pl
    from hydra.utils import instantiate

    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    module = build_module(cfg)
    check_fit(datamodule, module)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    logger = instantiate(cfg.logger) if cfg.get("logger") else False
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=logger)
    return datamodule, module, trainer


def run(cfg: DictConfig) -> dict:
    run_dir = Path(cfg.paths.run_dir)
    datamodule, module, trainer = build(cfg)
    trainer.fit(module, datamodule=datamodule, ckpt_path=checked_ckpt_path(cfg.get("ckpt_path")))
    summary_path = run_dir / "metrics.json"
    summary = {}
    if summary_path.exists():
        import json

        summary = json.loads(summary_path.read_text())
    if trainer.is_global_zero:
        print(format_summary(cfg, summary, run_dir))
    return summary


def format_summary(cfg: DictConfig, summary: dict, run_dir: Path) -> str:
    from ganlab.metrics.evaluator import score_parts

    parts = [f"[ganlab] {cfg.name}: iteration {summary.get('iteration')}"]
    modes = summary.get("mode_coverage")
    if modes:
        parts.append(f"modes {modes['modes']}/{modes['n_modes']}")
        parts.append(f"HQ {modes['hq']:.1f} %")
        if modes.get("mode_kl") is not None:
            parts.append(f"mode KL {modes['mode_kl']:.3f}")
    parts += score_parts(summary.get("image_metrics") or {})
    if summary.get("val/acc") is not None:
        parts.append(f"test accuracy {summary['val/acc']:.2%}")
    parts.append(f"run dir {run_dir}")
    return " | ".join(parts)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=PRIMARY)
def _hydra_main(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except ConfigError as exc:
        print(f"ganlab-train: error: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        if cfg.get("logger") and "wandb" in str(cfg.logger.get("_target_", "")).lower():
            import wandb

            wandb.finish()


def main() -> None:
    try:
        argv = preflight(sys.argv[1:])
    except ConfigError as exc:
        print(f"ganlab-train: error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.argv = [sys.argv[0], *argv]
    _hydra_main()


if __name__ == "__main__":
    main()
