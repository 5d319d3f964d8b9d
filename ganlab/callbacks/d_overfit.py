"""D's overfitting along training (``+callbacks/d_overfit=default``): every ``every_n_epochs`` epochs and at the end of
fit, D's mean logit and E[sign D(x)] on ``n_images`` real training images against as many test images, and their
gap (``ganlab/metrics/d_overfit.py``, as ``ganlab-eval metrics=[d_overfit]``; Karras et al. 2020, Fig. 1b–c: the
curves drift apart as D memorises its training set). A D trained with an augmentation is also scored under its own
policy (the ``*_aug`` keys). With ``data.train_size`` / ``train_fraction`` the training images are the subset D
trains on.

Logged as ``val/d_logit_train``, ``val/d_logit_test``, ``val/d_logit_gap``, ``val/d_sign_train``, ``val/d_sign_test``
(and ``*_aug``); final values in ``metrics.json`` (``d_overfit``). Seeded subsets and augmentation draws from their own
generators, D in eval mode: the run's random streams and D's buffers are untouched, so a resume stays exact."""

from __future__ import annotations

import pytorch_lightning as pl

from ganlab.callbacks.scheduled import ScheduledMetrics
from ganlab.common.errors import ConfigError
from ganlab.common.validators import require_positive_ints
from ganlab.metrics.d_overfit import discriminator_overfit


class DiscriminatorOverfitCallback(ScheduledMetrics):
    section = "d_overfit"
    needs_images, needs_conditional = True, None  # checked by the preflight on the config

    def __init__(
        self,
        every_n_epochs: int = 1,
        run_dir: str | None = None,
        n_images: int = 1000,
        batch_size: int = 500,
        seed: int = 0,
    ):
        super().__init__(every_n_epochs, run_dir)
        require_positive_ints(n_images=n_images, batch_size=batch_size)
        self.n_images, self.batch_size, self.seed = n_images, batch_size, seed

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        """Fail before training: a model without a logit D (BEGAN's autoencoder D, an autoencoder), non-image data."""
        from ganlab.losses import GANLoss

        if not isinstance(getattr(pl_module, "loss", None), GANLoss):
            raise ConfigError(
                f"callbacks.d_overfit reads a GAN discriminator's logits, but the model is a {type(pl_module).__name__}"
                "; accepted: a GAN (not BEGAN's autoencoder D, an autoencoder or a classifier)"
            )
        if not hasattr(trainer.datamodule, "eval_dataloader"):
            raise ConfigError(
                f"callbacks.d_overfit needs image data, but data={getattr(trainer.datamodule, 'name', '?')}; "
                "accepted: an image dataset (mnist, cifar10, …)"
            )

    def compute(self, trainer: pl.Trainer, pl_module) -> dict:
        return discriminator_overfit(
            pl_module.discriminator,
            trainer.datamodule,
            self.n_images,
            self.batch_size,
            self.seed,
            device=pl_module.device,
            augment=pl_module.loss.augment,
        )
