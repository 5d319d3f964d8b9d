"""BEGAN as its own LightningModule: an autoencoder D, L1 reconstruction losses and the k_t controller.

Per batch:   D ← D − ∇ [L(x) − k_t L(G(z_D))];   G ← G − ∇ L(G(z_G));
             k_t ← clip(k_t + λ_k (γ L(x) − L(G(z_G))), 0, 1);   log M_global.
k_t is a buffer, so it is checkpointed and restored with the weights.

As the paper trains it (§4.1): ``lr_plateau_window=W`` averages M_global over windows of W iterations and halves
both learning rates (``lr_plateau_factor``) when the window mean has not improved for ``lr_plateau_patience``
windows (``torch.optim.lr_scheduler.ReduceLROnPlateau``; its state and the running window are checkpointed, so
resume stays exact). A decay every N iterations instead is ``optim.scheduler_g/_d`` = StepLR (optim=began_paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganlab.losses import DiscriminatorFn
from ganlab.modules.adversarial import AdversarialModule
from ganlab.modules.base import OptimizerFactory, grad_norm


@dataclass
class BEGANLoss:
    """BEGAN (Berthelot et al. 2017): D is an autoencoder, L(v) = mean |v − D(v)| its L1 reconstruction error.

    L_D = L(x) − k_t · L(G(z_D)),   L_G = L(G(z_G)),
    k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z_G))), 0, 1),   M_global = L(x) + |γ L(x) − L(G(z_G))|.
    """

    gamma: float = 0.5
    lambda_k: float = 0.001
    name: str = "began"

    @staticmethod
    def reconstruction(autoencoder: DiscriminatorFn, x: Tensor) -> Tensor:
        return (autoencoder(x) - x).abs().mean()

    def d_loss(self, real_error: Tensor, fake_error: Tensor, k: Tensor) -> Tensor:
        return real_error - k * fake_error

    def g_loss(self, fake_error: Tensor) -> Tensor:
        return fake_error

    def balance(self, real_error: Tensor, fake_error: Tensor) -> Tensor:
        return (self.gamma * real_error - fake_error).detach()

    def next_k(self, k: Tensor, real_error: Tensor, fake_error: Tensor) -> Tensor:
        return (k + self.lambda_k * self.balance(real_error, fake_error)).clamp(0.0, 1.0)

    def convergence(self, real_error: Tensor, fake_error: Tensor) -> Tensor:
        return real_error.detach() + self.balance(real_error, fake_error).abs()


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
        lr_plateau_window: int | None = None,
        lr_plateau_patience: int = 3,
        lr_plateau_factor: float = 0.5,
        **common,
    ):
        """``common``: AdversarialModule's options (schedulers, max_iterations, noise_seed, …)."""
        super().__init__(generator, discriminator, optimizer_g, optimizer_d, latent_dim, **common)
        if not isinstance(loss, BEGANLoss):
            raise TypeError(f"BEGANModule needs a BEGANLoss (loss=began), got {type(loss).__name__}")
        self.loss = loss
        self.register_buffer("k", torch.tensor(float(k_init)))
        self.lr_plateau = (lr_plateau_window, lr_plateau_patience, lr_plateau_factor) if lr_plateau_window else None
        #: Sum of M_global and the number of iterations in the current plateau window (checkpointed buffers).
        self.register_buffer("m_window", torch.zeros(2, dtype=torch.float64))
        self._plateaus: list | None = None
        self._plateau_states: list | None = None

    def plateaus(self) -> list:
        """One ReduceLROnPlateau per optimizer (G, D), built on first use and given a resumed run's state."""
        if self._plateaus is None:
            from torch.optim.lr_scheduler import ReduceLROnPlateau

            _, patience, factor = self.lr_plateau
            self._plateaus = [
                ReduceLROnPlateau(opt.optimizer, mode="min", factor=factor, patience=patience, threshold=1e-3)
                for opt in self.optimizers()
            ]
            for plateau, state in zip(self._plateaus, self._plateau_states or [], strict=False):
                plateau.load_state_dict(state)
        return self._plateaus

    def _track_plateau(self, m_global: Tensor) -> None:
        window = self.lr_plateau[0]
        self.m_window += torch.stack([m_global.detach().double(), m_global.new_ones((), dtype=torch.float64)])
        if int(self.m_window[1]) >= window:
            mean = float(self.m_window[0] / self.m_window[1])
            for plateau in self.plateaus():
                plateau.step(mean)
            self.m_window.zero_()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.lr_plateau is not None:
            checkpoint["ganlab"]["lr_plateau"] = [p.state_dict() for p in self.plateaus()]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        self._plateau_states = checkpoint.get("ganlab", {}).get("lr_plateau")
        self._plateaus = None

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
        if self.lr_plateau is not None:
            self._track_plateau(self.loss.convergence(real_error, fake_error))
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
                "train/lr_g": torch.tensor(opt_g.optimizer.param_groups[0]["lr"]),
            })  # fmt: skip
        self.end_iteration(metrics, n)
