"""G's reconstruction error on training and test images during training (``+callbacks/reconstruction=default``):
every ``every_n_epochs`` epochs and at the end of fit, each of ``n_images`` images per split is inverted by a
batched multi-restart latent search (``ganlab/metrics/reconstruction.py``, as ``ganlab-eval
metrics=[reconstruction]``). A gap (test − train) that grows over training says G memorises its training images;
with ``data.train_fraction`` the training images are the subset G trains on.

Logged as ``val/reconstruction_mse_train``, ``_test`` and ``val/reconstruction_gap``; final values in
``metrics.json`` (``reconstruction``). Seeded (the same images and starting latents every time) and drawn from
their own generators, so the run's random streams are untouched. Under DDP every rank computes the same values."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from ganlab.callbacks.scheduled import ScheduledMetrics
from ganlab.common.errors import ConfigError
from ganlab.metrics.reconstruction import reconstruction_errors


class ReconstructionErrorCallback(ScheduledMetrics):
    section = "reconstruction"
    needs_images, needs_conditional = True, False  # checked by the preflight on the config

    def __init__(
        self,
        every_n_epochs: int = 1,
        run_dir: str | None = None,
        n_images: int = 256,
        restarts: int = 5,
        iterations: int = 300,
        lr: float = 0.05,
        seed: int = 0,
    ):
        super().__init__(every_n_epochs, run_dir)
        for name, value, low in (("n_images", n_images, 1), ("restarts", restarts, 1), ("iterations", iterations, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name}={value!r} is invalid; accepted: an integer >= {low}")
        if not (isinstance(lr, int | float) and lr > 0):
            raise ValueError(f"lr={lr!r} is invalid; accepted: a number > 0")
        self.n_images, self.restarts, self.iterations, self.lr, self.seed = n_images, restarts, iterations, lr, seed

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        """Fail before training: a conditional G (inversion searches z only), non-image data, a model with no G."""
        generator = getattr(pl_module, "eval_generator", None)
        if generator is None or getattr(generator, "num_classes", None):
            raise ConfigError(
                "callbacks.reconstruction inverts an unconditional generator's z, but this model has "
                f"{'a conditional' if generator is not None else 'no'} generator; accepted: an unconditional GAN"
            )
        if not hasattr(trainer.datamodule, "eval_batch"):
            raise ConfigError(
                f"callbacks.reconstruction needs image data, but data={getattr(trainer.datamodule, 'name', '?')}; "
                "accepted: an image dataset (mnist, cifar10, …)"
            )

    def compute(self, trainer: pl.Trainer, pl_module) -> dict:
        with torch.enable_grad():  # the latent search differentiates G's output with respect to z
            errors = reconstruction_errors(
                pl_module.eval_generator,
                trainer.datamodule,
                pl_module.latent_dim,
                self.n_images,
                self.restarts,
                self.iterations,
                self.lr,
                self.seed,
            )
        return {**errors, "evaluated_with": pl_module.evaluated_with}
