"""FID / KID / IS, precision / recall / density / coverage and labelled mode coverage during training
(``callbacks/metrics=classifier|inception``): every ``every_n_epochs`` epochs and at the end of fit, M generated vs
M real images (``ImageEvaluator``).

The metric objects (and the Inception weights) live in this callback, never in the checkpoint; real statistics
are cached on disk. Under DDP each rank generates its share, every rank computes, rank 0 writes the files;
logged values are identical on every rank."""

from __future__ import annotations

import pytorch_lightning as pl

from ganlab.callbacks.scheduled import ScheduledMetrics
from ganlab.metrics.evaluator import ImageEvaluator


class ImageMetricsCallback(ScheduledMetrics):
    section = "image_metrics"

    def __init__(self, every_n_epochs: int = 1, run_dir: str | None = None, **evaluator_kwargs):
        super().__init__(every_n_epochs, run_dir)
        self.evaluator_kwargs = evaluator_kwargs
        self.evaluator: ImageEvaluator | None = None

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        """Fail before training when a file is missing (classifier, Inception weights) or the data is not images."""
        self.evaluator = ImageEvaluator(trainer.datamodule, **self.evaluator_kwargs)
        self.evaluator.build_extractors()

    def compute(self, trainer: pl.Trainer, pl_module) -> dict:
        evaluator = self.evaluator
        rank, world = trainer.global_rank, trainer.world_size
        if evaluator.suite is None:
            evaluator.setup(pl_module.device, rank, world, barrier=trainer.strategy.barrier)
        return evaluator.evaluate(
            lambda z: pl_module.sample(z=z),
            pl_module.latent_dim,
            rank,
            world,
            device=pl_module.device,
            prior=pl_module.latent_prior,
        )
