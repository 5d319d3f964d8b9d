"""``AutoEncoderModule``: the course report's autoencoder with the kurtosis latent regulariser
(``model=kurtosis_ae``; ``model=ae`` without it), usable as a generator: z ~ N(0, I) → decoder.

Per batch:   z = E(x);  x̂ = D(z);  loss = MSE(x̂, x) + w(epoch) · MSE([mean z, var z, kurt z], [0, 1, 3])

with w the epoch schedule (0.001 doubled every epoch, capped at 2.048). Logged: ``train/image_mse``,
``train/z_mse`` (the regulariser unweighted), ``train/z_mse_weighted`` (what the optimizer sees): the report's
three curves; and ``train/z_weight``, ``train/z_mean``, ``train/z_var``, ``train/z_kurtosis`` (pooled moments),
``train/loss``, ``train/grad_norm``. Without the regulariser, ``z_mse`` and the moments are still logged.

It shares the GAN modules' machinery (``GenerativeModule``): training length in iterations, exact resume, the
checkpointed noise RNG, ``sample()`` from ``generator`` (the decoder), so the sample-grid and metric callbacks,
``ganlab-eval`` and ``ganlab-latent`` work on it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.modules.base import GenerativeModule, OptimizerFactory, grad_norm
from ganlab.moments import EpochSchedule, moment_loss, standardized_moments
from ganlab.nets.base import eval_mode


class AutoEncoderModule(GenerativeModule):
    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        optimizer: OptimizerFactory,
        latent_dim: int,
        scheduler: Callable | None = None,
        z_weight: EpochSchedule | None = None,
        z_pooling: str = "pooled",
        **common,
    ):
        """``z_weight``: the regulariser's weight per epoch (None: a plain autoencoder). ``z_pooling``: ``pooled``
        (moments over all of the batch's code entries, the report's) or ``per_dimension``. ``common``:
        GenerativeModule's options (scheduler_interval, max_iterations, noise_seed, log_every_n_iterations)."""
        super().__init__(latent_dim, **common)
        standardized_moments(torch.zeros(2, 1), z_pooling)  # a bad pooling fails here, not at the first step
        self.encoder, self.decoder = encoder, decoder
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.z_weight, self.z_pooling = z_weight, z_pooling

    @property
    def generator(self) -> nn.Module:
        """The decoder: what generates images from z ~ N(0, I)."""
        return self.decoder

    def optimizer_specs(self):
        return [(self.parameters(), self.optimizer_factory, self.scheduler_factory)]

    def conditional_nets(self) -> tuple[nn.Module, ...]:
        return (self.encoder, self.decoder)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(reconstruction, code)."""
        z = self.encoder(x)
        return self.decoder(z), z

    def weight_at(self, epoch: int) -> float:
        return 0.0 if self.z_weight is None else float(self.z_weight(epoch))

    def losses(self, x: Tensor, epoch: int) -> dict[str, Tensor]:
        """The step's loss terms (``loss`` is what is minimised)."""
        reconstruction, z = self(x)
        image_mse = F.mse_loss(reconstruction, x)
        z_mse = moment_loss(z, self.z_pooling)
        weight = self.weight_at(epoch)
        weighted = weight * z_mse
        loss = image_mse + weighted if weight else image_mse  # a plain AE never backpropagates through z_mse
        return {"loss": loss, "image_mse": image_mse, "z_mse": z_mse, "z_mse_weighted": weighted, "z": z}

    def training_step(self, batch, batch_idx: int) -> None:
        x, _ = self.split_batch(batch)
        opt = self.optimizers()
        out = self.losses(x, self.trainer.current_epoch)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(out["loss"])
        metrics: dict[str, Tensor] | None = {} if self.should_log() else None
        if metrics is not None:
            metrics["train/grad_norm"] = grad_norm(self.parameters())
        opt.step()
        if metrics is not None:
            mean, var, kurtosis = standardized_moments(out["z"].detach(), "pooled")
            metrics.update({f"train/{k}": out[k].detach() for k in ("loss", "image_mse", "z_mse")})
            metrics.update({"train/z_mean": mean, "train/z_var": var, "train/z_kurtosis": kurtosis})
            if self.z_weight is not None:
                metrics["train/z_mse_weighted"] = out["z_mse_weighted"].detach()
                metrics["train/z_weight"] = torch.tensor(self.weight_at(self.trainer.current_epoch))
        self.end_iteration(metrics, x.shape[0])

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """D(E(x)) in eval mode (the networks' modes are restored)."""
        with eval_mode(self):
            return self(x.to(self.device))[0]
