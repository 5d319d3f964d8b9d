"""FID / KID / IS and labelled mode coverage during training (``callbacks/metrics=classifier|inception``):
every ``every_n_epochs`` epochs and at the end of fit, M generated vs M real images (``ImageEvaluator``).

The metric objects (and the Inception weights) live in this callback, never in the checkpoint; real statistics
are cached on disk. Under DDP each rank generates its share, every rank computes, rank 0 writes the files;
logged values are identical on every rank."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl

from ganlab.callbacks.metrics_json import write_metrics_json
from ganlab.metrics.evaluator import ImageEvaluator


class ImageMetricsCallback(pl.Callback):
    def __init__(self, every_n_epochs: int = 1, run_dir: str | None = None, **evaluator_kwargs):
        if not (isinstance(every_n_epochs, int) and every_n_epochs >= 1):
            raise ValueError(f"every_n_epochs={every_n_epochs!r} is invalid; accepted: an integer >= 1")
        self.every_n_epochs = every_n_epochs
        self.run_dir = Path(run_dir) if run_dir else None
        self.evaluator_kwargs = evaluator_kwargs
        self.evaluator: ImageEvaluator | None = None
        self.last: tuple[int, dict] | None = None  # (iteration, values)

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        """Fail before training when a file is missing (classifier, Inception weights) or the data is not images."""
        self.evaluator = ImageEvaluator(trainer.datamodule, **self.evaluator_kwargs)
        self.evaluator.build_extractors()

    def evaluate(self, trainer: pl.Trainer, pl_module) -> tuple[dict, bool]:
        """(values, whether they are new): computed once per iteration."""
        if self.last is not None and self.last[0] == pl_module.iteration:
            return self.last[1], False
        evaluator = self.evaluator
        rank, world = trainer.global_rank, trainer.world_size
        if evaluator.suite is None:
            evaluator.setup(pl_module.device, rank, world, barrier=trainer.strategy.barrier)
        values = evaluator.evaluate(
            lambda z: pl_module.sample(z=z),
            pl_module.latent_dim,
            rank,
            world,
            device=pl_module.device,
            prior=pl_module.latent_prior,
        )
        self.last = (pl_module.iteration, values)
        return values, True

    @staticmethod
    def scalars(values: dict) -> dict[str, float]:
        return {f"val/{k}": float(v) for k, v in values.items() if k not in ("provenance", "n_modes")}

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
                logger.log_metrics(self.scalars(values), step=pl_module.iteration)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            record = {"iteration": pl_module.iteration, **values}
            write_metrics_json(self.run_dir / "metrics.json", {"image_metrics": record})
