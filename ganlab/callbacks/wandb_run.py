"""The W&B run of a training in every checkpoint (``checkpoint["wandb"]``), so a resumed training can continue it
(``ganlab.composition.loggers.build_logger``). The record holds plain strings only: checkpoints stay
``weights_only``-loadable."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl

#: The keys of the record stored in every checkpoint.
RECORD_KEYS = ("id", "project", "group", "name")
CHECKPOINT_KEY = "wandb"


def run_record(logger) -> dict[str, str | None]:
    """``{"id", "project", "group", "name"}`` of a WandbLogger's run; read from the live run when it has started,
    else from the logger's ``wandb.init`` arguments (no run is started here)."""
    init = getattr(logger, "_wandb_init", None) or {}
    record = {key: init.get(key) for key in RECORD_KEYS}
    run = getattr(logger, "_experiment", None)
    if run is not None:
        for key in RECORD_KEYS:
            value = getattr(run, key, None)
            if isinstance(value, str) and value:
                record[key] = value
    return {k: None if v is None else str(v) for k, v in record.items()}


class WandbRunCallback(pl.Callback):
    """Stores ``checkpoint["wandb"] = {"id", "project", "group", "name"}`` of the trainer's first WandbLogger."""

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        from pytorch_lightning.loggers import WandbLogger

        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                checkpoint[CHECKPOINT_KEY] = run_record(logger)
                return


def wandb_run_record(ckpt_path: str | Path) -> dict[str, str | None] | None:
    """The ``checkpoint["wandb"]`` record of a checkpoint file, or None when it has none."""
    import torch

    try:
        ckpt = torch.load(str(ckpt_path), map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # a legacy (non-zip) checkpoint cannot be memory-mapped
        ckpt = torch.load(str(ckpt_path), map_location="cpu", weights_only=True)
    record = ckpt.get(CHECKPOINT_KEY) if isinstance(ckpt, dict) else None
    return dict(record) if isinstance(record, dict) and record.get("id") else None


def wandb_run_id(ckpt_path: str | Path) -> str | None:
    """The W&B run id recorded in a checkpoint, or None."""
    record = wandb_run_record(ckpt_path)
    return None if record is None else str(record["id"])
