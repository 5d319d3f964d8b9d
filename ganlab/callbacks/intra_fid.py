"""Intra-class FID of a conditional generator during training (``+callbacks/intra_fid=classifier``): every
``every_n_epochs`` epochs and at the end of fit, the FID of each class's samples against that class's real images,
and their mean (``ganlab/metrics/intra_fid.py``; the same extractor as ``ganlab-eval metrics=[intra_fid]``).

Logged as ``val/classifier_intra_fid`` (``val/intra_fid`` on Inception features); the per-class values go to
``metrics.json`` (``intra_fid``). Seeded: the same latents every time. Under DDP every rank computes the same
values (no collective)."""

from __future__ import annotations

import os

import pytorch_lightning as pl

from ganlab.callbacks.scheduled import ScheduledMetrics
from ganlab.common.errors import ConfigError
from ganlab.metrics.evaluator import PREFIX, ImageEvaluator
from ganlab.metrics.intra_fid import module_intra_fid


class IntraFIDCallback(ScheduledMetrics):
    section = "intra_fid"
    needs_images, needs_conditional = True, True  # checked by the preflight on the config

    def __init__(
        self,
        every_n_epochs: int = 1,
        run_dir: str | None = None,
        n_per_class: int = 1000,
        n_real: int | None = None,
        extractor: str = "classifier",
        split: str = "test",
        batch_size: int = 500,
        seed: int = 2024,
        classifier: str | os.PathLike | None = None,
        classifier_dir: str | os.PathLike = "classifiers",
        inception_weights: str | os.PathLike | None = None,
        antialias: bool = True,
    ):
        super().__init__(every_n_epochs, run_dir)
        if isinstance(n_per_class, bool) or not isinstance(n_per_class, int) or n_per_class < 2:
            raise ValueError(f"n_per_class={n_per_class!r} is invalid; accepted: an integer >= 2")
        if extractor not in PREFIX:
            raise ValueError(f"extractor={extractor!r} is invalid; accepted: {', '.join(PREFIX)}")
        self.n_per_class, self.n_real, self.extractor_name = n_per_class, n_real, extractor
        self.split, self.batch_size, self.seed = split, batch_size, seed
        self.extractor_kwargs = {
            "classifier": classifier,
            "classifier_dir": classifier_dir,
            "inception_weights": inception_weights,
            "antialias": antialias,
        }
        self.extractor = None

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        """Fail before training: an unconditional G, non-image data, a missing classifier or Inception file."""
        classes = getattr(getattr(pl_module, "generator", None), "num_classes", None)
        if not classes:
            raise ConfigError(
                "callbacks.intra_fid needs a conditional generator (model.generator.num_classes), but this model's "
                "is unconditional; accepted: a conditional model (e.g. experiment=mnist_cgan), or no "
                "callbacks.intra_fid"
            )
        evaluator = ImageEvaluator(
            trainer.datamodule, metrics=["fid"], extractor=self.extractor_name, **self.extractor_kwargs
        )
        self.extractor = evaluator.build_extractors()[0]

    def compute(self, trainer: pl.Trainer, pl_module) -> dict:
        device = pl_module.device
        real = trainer.datamodule.eval_dataloader(self.split, self.batch_size, limit=self.n_real)
        scores = module_intra_fid(
            pl_module, self.extractor.to(device), self.extractor_name, real, self.n_per_class, self.batch_size,
            self.seed, device,
        )  # fmt: skip
        return {**scores, "evaluated_with": pl_module.evaluated_with, "split": self.split}
