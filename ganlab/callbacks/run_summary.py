"""``metrics.json`` in the run directory: the final value of every ``val/*`` metric plus run facts."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl

from ganlab.callbacks.metrics_json import write_metrics_json
from ganlab.callbacks.run_checkpoint import RunCheckpoint


class RunSummary(pl.Callback):
    """At the end of fit, writes ``<run_dir>/metrics.json`` with the last logged ``val/*`` metrics,
    the iteration count, the checkpoint paths and which generator the metrics saw (``evaluated_with``)."""

    def __init__(self, run_dir: str):
        self.run_dir = Path(run_dir)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        values = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        values["iteration"] = getattr(pl_module, "iteration", None)
        values["epoch"] = trainer.current_epoch
        if hasattr(pl_module, "evaluated_with"):
            values["evaluated_with"] = pl_module.evaluated_with  # "ema": samples and metrics came from G's average
        for ckpt in trainer.checkpoint_callbacks:
            if isinstance(ckpt, RunCheckpoint):
                values["last_checkpoint"] = str(ckpt.path)
            elif getattr(ckpt, "monitor", None) and ckpt.best_model_path:
                values["best_checkpoint"] = ckpt.best_model_path
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_metrics_json(self.run_dir / "metrics.json", values)
