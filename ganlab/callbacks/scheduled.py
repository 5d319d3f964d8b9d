"""``ScheduledMetrics``: the schedule every metric callback shares — score every ``every_n_epochs`` epochs and at
the end of fit (once per iteration: an epoch end that is also the last iteration is not scored twice), log the
numbers as ``val/<name>``, and write the final values into ``metrics.json`` under the callback's ``section``."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl

from ganlab.callbacks.metrics_json import write_metrics_json
from ganlab.callbacks.sample_grid import logger_step
from ganlab.common.validators import require_positive_ints


class ScheduledMetrics(pl.Callback):
    section = "metrics"  # the key of the final values in metrics.json

    def __init__(self, every_n_epochs: int = 1, run_dir: str | None = None):
        require_positive_ints(every_n_epochs=every_n_epochs)
        self.every_n_epochs = every_n_epochs
        self.run_dir = Path(run_dir) if run_dir else None
        self.last: tuple[int, dict] | None = None  # (iteration, values)

    def compute(self, trainer: pl.Trainer, pl_module) -> dict:
        """The values at the current iteration (collective under DDP where the metric is)."""
        raise NotImplementedError

    def evaluate(self, trainer: pl.Trainer, pl_module) -> tuple[dict, bool]:
        """(values, whether they are new): computed once per iteration."""
        if self.last is not None and self.last[0] == pl_module.iteration:
            return self.last[1], False
        values = self.compute(trainer, pl_module)
        self.last = (pl_module.iteration, values)
        return values, True

    @staticmethod
    def scalars(values: dict) -> dict[str, float]:
        """The loggable numbers (per-class lists, provenance and counts stay in metrics.json)."""
        return {
            f"val/{k}": float(v)
            for k, v in values.items()
            if k != "n_modes" and isinstance(v, int | float) and not isinstance(v, bool)
        }

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            values, _ = self.evaluate(trainer, pl_module)
            pl_module.log_dict(self.scalars(values), on_step=False, on_epoch=True)

    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        values, new = self.evaluate(trainer, pl_module)
        if not trainer.is_global_zero:
            return
        if new:  # the final iteration was not scored by an epoch end (Lightning's self.log is closed here)
            for logger in trainer.loggers:
                logger.log_metrics(self.scalars(values), step=logger_step(pl_module))
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            record = {"iteration": pl_module.iteration, **values}
            write_metrics_json(self.run_dir / "metrics.json", {self.section: record})
