"""``metrics.json`` in the run directory: the final value of every ``val/*`` metric plus run facts."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytorch_lightning as pl
import torch

from ganlab.callbacks.run_checkpoint import RunCheckpoint


def _plain(value):
    """JSON-safe value: tensors → numbers, NaN/inf → null, recursively."""
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics_json(path: str | os.PathLike, values: dict) -> dict:
    """Merge ``values`` into the JSON file at ``path`` (atomic replace) and return the result."""
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update({k: _plain(v) for k, v in values.items()})
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")
    tmp.replace(path)
    return data


class RunSummary(pl.Callback):
    """At the end of fit, writes ``<run_dir>/metrics.json`` with the last logged ``val/*`` metrics,
    the iteration count and the checkpoint paths."""

    def __init__(self, run_dir: str):
        self.run_dir = Path(run_dir)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        values = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        values["iteration"] = getattr(pl_module, "iteration", None)
        values["epoch"] = trainer.current_epoch
        for ckpt in trainer.checkpoint_callbacks:
            if isinstance(ckpt, RunCheckpoint):
                values["last_checkpoint"] = str(ckpt.path)
            elif getattr(ckpt, "monitor", None) and ckpt.best_model_path:
                values["best_checkpoint"] = ckpt.best_model_path
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_metrics_json(self.run_dir / "metrics.json", values)
