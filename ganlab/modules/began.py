"""BEGAN as its own LightningModule: an autoencoder D, L1 reconstruction losses and the k_t controller.

Per batch:   D ← D − ∇ [L(x) − k_t L(G(z_D))];   G ← G − ∇ L(G(z_G));
             k_t ← clip(k_t + λ_k (γ L(x) − L(G(z_G))), 0, 1);   log M_global.
k_t is a buffer, so it is checkpointed and restored with the weights.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlab.losses import BEGANLoss
from ganlab.modules.base import AdversarialModule, OptimizerFactory, grad_norm


class BEGANModule(AdversarialModule):
    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: BEGANLoss,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        latent_dim: int,
        k_init: float = 0.0,
        **common,
    ):
        """``common``: AdversarialModule's options (schedulers, max_iterations, noise_seed, …)."""
        super().__init__(generator, discriminator, optimizer_g, optimizer_d, latent_dim, **common)
        if not isinstance(loss, BEGANLoss):
            raise TypeError(f"BEGANModule needs a BEGANLoss (loss=began), got {type(loss).__name__}")
        self.loss = loss
        self.register_buffer("k", torch.tensor(float(k_init)))

    def training_step(self, batch, batch_idx: int) -> None:
        real, _ = self.split_batch(batch)
        opt_g, opt_d = self.optimizers()
        metrics: dict[str, Tensor] | None = {} if self.should_log() else None
        recon = self.loss.reconstruction
        n = real.shape[0]

        real_error = recon(self.discriminator, real)
        fake_error_d = recon(self.discriminator, self._fake(n, None, with_graph=False))
        d_loss = self.loss.d_loss(real_error, fake_error_d, self.k)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        grad_d = grad_norm(self.discriminator.parameters()) if metrics is not None else None
        opt_d.step()

        self.toggle_optimizer(opt_g)
        fake_error = recon(self.discriminator, self._fake(n, None, with_graph=True))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(self.loss.g_loss(fake_error))
        grad_g = grad_norm(self.generator.parameters()) if metrics is not None else None
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.k.copy_(self.loss.next_k(self.k, real_error.detach(), fake_error.detach()))
        if metrics is not None:
            metrics.update({
                "train/d_loss": d_loss.detach(),
                "train/g_loss": fake_error.detach(),
                "train/recon_real": real_error.detach(),
                "train/recon_fake": fake_error.detach(),
                "train/k": self.k.clone(),
                "train/m_global": self.loss.convergence(real_error, fake_error),
                "train/grad_norm_d": grad_d,
                "train/grad_norm_g": grad_g,
            })  # fmt: skip
        self.end_iteration(metrics, n)
