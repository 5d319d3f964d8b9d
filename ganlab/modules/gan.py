"""The one GAN engine: a LightningModule with manual optimisation for every adversarial variant.

Per batch (the lecture's pseudocode, Goodfellow et al. Alg. 1, with the course report's -ds/-gs/-k):

    for d_steps:  D ← D - ∇_D [loss_D(D(x), D(G(z))) + penalty];  constrain D
    for g_steps:  D_k ← k look-ahead updates of a functional copy of D   (k = 0: D_k = D)
                  G ← G - ∇_G loss_G(D_k(G(z)))

A loss, an architecture or a dataset plugs in through the constructor: the step never changes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from enum import Enum

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from ganlab.losses import DiscriminatorFn, GANLoss
from ganlab.unroll import check_supported, lookahead

OptimizerFactory = Callable[..., torch.optim.Optimizer]


class UnrollMode(str, Enum):
    first_order = "first_order"
    second_order = "second_order"


def grad_norm(params) -> Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


class GANModule(pl.LightningModule):
    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: GANLoss,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        latent_dim: int,
        d_steps: int = 1,
        g_steps: int = 1,
        unroll_steps: int = 0,
        unroll_mode: str | UnrollMode = UnrollMode.first_order,
        real_label: float = 1.0,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        scheduler_g: Callable | None = None,
        scheduler_d: Callable | None = None,
        scheduler_interval: str = "iteration",
        max_iterations: int | None = None,
        noise_seed: int = 0,
        log_every_n_iterations: int | None = None,
    ):
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.discriminator, self.loss = generator, discriminator, loss
        self.optimizer_factories = (optimizer_g, optimizer_d)
        self.scheduler_factories = (scheduler_g, scheduler_d)
        self.scheduler_interval = scheduler_interval
        self.latent_dim = latent_dim
        self.d_steps, self.g_steps = d_steps, g_steps
        self.unroll_steps, self.unroll_mode = unroll_steps, UnrollMode(unroll_mode)
        self.real_label = real_label
        self.grad_clip_g, self.grad_clip_d = grad_clip_g, grad_clip_d
        self.max_iterations = max_iterations
        self.log_every_n_iterations = log_every_n_iterations
        self.noise_seed = noise_seed
        #: Dedicated RNG for latent noise, penalties' interpolation and unrolling; checkpointed.
        self.noise = torch.Generator().manual_seed(noise_seed)
        #: Completed training iterations (batches); unlike ``global_step`` it does not count optimizer steps.
        self.iteration = 0
        self._noise_restore: tuple[str, Tensor] | None = None
        #: Plain-dict run configuration, stored in checkpoints (set by the entry point).
        self.run_config: dict | None = None

    # ----------------------------------------------------------------- sampling
    def sample_latent(self, n: int) -> Tensor:
        return torch.randn(n, self.latent_dim, generator=self.noise, device=self.noise.device)

    @torch.no_grad()
    def sample(self, n: int | None = None, z: Tensor | None = None) -> Tensor:
        """Generator samples in eval mode (for metrics and plots); does not consume training noise
        when ``z`` is given."""
        z = self.sample_latent(n) if z is None else z.to(self.device)
        was_training = self.generator.training
        self.generator.eval()
        out = self.generator(z)
        self.generator.train(was_training)
        return out

    # ----------------------------------------------------------------- optimisation
    def configure_optimizers(self):
        opt_g = self.optimizer_factories[0](self.generator.parameters())
        opt_d = self.optimizer_factories[1](self.discriminator.parameters())
        if self.unroll_steps > 0:
            check_supported(opt_d)
        configs = []
        for opt, factory in zip((opt_g, opt_d), self.scheduler_factories, strict=True):
            configs.append({"optimizer": opt, **({"lr_scheduler": factory(opt)} if factory else {})})
        return configs

    def on_fit_start(self) -> None:
        if self.device.type == "cpu":
            # lightning_fabric sets this at import (it avoids fork-poisoning CUDA in forked GPU workers); with a
            # CUDA build of torch on a machine without GPU it makes every optimizer.step() dlopen NVML
            # (≈ 0.13 ms per step, measured). A CPU fit has no CUDA to protect.
            os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
        if self.noise.device != self.device:
            self.noise = torch.Generator(self.device).manual_seed(self.noise_seed)
        if self._noise_restore is not None:
            device_type, state = self._noise_restore
            if device_type != self.device.type:
                raise RuntimeError(
                    f"checkpoint noise RNG was saved on {device_type}, this run is on {self.device.type}: "
                    "exact resume needs the same device type"
                )
            self.noise.set_state(state)
            self._noise_restore = None
        if self.log_every_n_iterations is None:
            self.log_every_n_iterations = self.trainer.log_every_n_steps

    def on_train_start(self) -> None:
        """With a length in iterations and no epoch limit, bound the epochs too (the progress bar shows it).
        ``should_stop`` ends training at the exact iteration; the bound only has to be large enough."""
        batches = self.trainer.num_training_batches
        if self.max_iterations and self.trainer.max_epochs in (None, -1) and math.isfinite(batches) and batches > 0:
            remaining = max(self.max_iterations - self.iteration, 0)
            resumed_slack = 1 if self.iteration else 0  # a checkpoint may have been written mid-epoch
            epochs = self.trainer.current_epoch + math.ceil(remaining / batches) + resumed_slack
            self.trainer.fit_loop.max_epochs = max(epochs, 1)

    def training_step(self, batch, batch_idx: int) -> None:
        real = batch[0] if isinstance(batch, list | tuple) else batch
        opt_g, opt_d = self.optimizers()
        log = (self.iteration + 1) % max(self.log_every_n_iterations or 1, 1) == 0
        metrics: dict[str, Tensor] = {}
        for _ in range(self.d_steps):
            self._discriminator_step(real, opt_d, metrics if log else None)
        for _ in range(self.g_steps):
            self._generator_step(real, opt_g, metrics if log else None)
        self.iteration += 1
        if self.scheduler_interval == "iteration":
            self._step_schedulers()
        if log:
            self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=real.shape[0])
        if self.max_iterations is not None and self.iteration >= self.max_iterations:
            self.trainer.should_stop = True

    def _fake(self, n: int, with_graph: bool) -> Tensor:
        if with_graph:
            return self.generator(self.sample_latent(n))
        with torch.no_grad():
            return self.generator(self.sample_latent(n))

    def _discriminator_step(self, real: Tensor, opt, metrics: dict | None) -> None:
        out = self.loss.discriminator(
            self.discriminator, real, self._fake(real.shape[0], False), self.real_label, self.noise
        )
        opt.zero_grad(set_to_none=True)
        self.manual_backward(out.total)
        self._finish_step(opt, self.discriminator, self.grad_clip_d, metrics, "d")
        if self.loss.constraint is not None:
            self.loss.constraint.apply_(self.discriminator.parameters())
        if metrics is not None:
            objective = self.loss.objective
            metrics["train/d_loss"] = out.total.detach()
            metrics["train/d_real"] = objective.d_output(out.real_logits.detach()).mean()
            metrics["train/d_fake"] = objective.d_output(out.fake_logits.detach()).mean()
            if out.penalty is not None:
                metrics["train/d_penalty"] = out.penalty.detach()
            if objective.critic:
                metrics["train/wasserstein"] = metrics["train/d_real"] - metrics["train/d_fake"]

    def _generator_step(self, real: Tensor, opt, metrics: dict | None) -> None:
        self.toggle_optimizer(opt)  # D's parameters stop requiring grad: no wasted D gradients
        fake = self._fake(real.shape[0], with_graph=True)
        d_fn = self._lookahead_discriminator(real, fake) if self.unroll_steps > 0 else self.discriminator
        g_loss, _ = self.loss.generator(d_fn, fake)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        self._finish_step(opt, self.generator, self.grad_clip_g, metrics, "g")
        self.untoggle_optimizer(opt)
        if metrics is not None:
            metrics["train/g_loss"] = g_loss.detach()

    def _finish_step(self, opt, net: nn.Module, clip: float | None, metrics: dict | None, tag: str) -> None:
        if metrics is not None:
            metrics[f"train/grad_norm_{tag}"] = grad_norm(net.parameters())
        if clip:
            self.clip_gradients(opt, gradient_clip_val=clip, gradient_clip_algorithm="norm")
        opt.step()

    def _lookahead_discriminator(self, real: Tensor, fake: Tensor) -> DiscriminatorFn:
        """D after k simulated updates on this step's minibatch (the same x and z for every update, as in
        Metz et al.'s surrogate f_K(θ_G, θ_D)); second order keeps the fakes' graph to G."""
        second_order = self.unroll_mode is UnrollMode.second_order
        unroll_fake = fake if second_order else fake.detach()

        def d_loss(d_fn: DiscriminatorFn) -> Tensor:
            return self.loss.discriminator(d_fn, real, unroll_fake, self.real_label, self.noise).total

        opt_d = self.optimizers()[1].optimizer
        return lookahead(self.discriminator, opt_d, d_loss, self.unroll_steps, second_order, self.loss.constraint)

    def _step_schedulers(self) -> None:
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    def on_train_epoch_end(self) -> None:
        if self.scheduler_interval == "epoch":
            self._step_schedulers()

    # ----------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ganlab"] = {
            "iteration": self.iteration,
            "noise_device": self.noise.device.type,
            "noise_state": self.noise.get_state(),
            "config": self.run_config,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("ganlab", {})
        self.iteration = int(state.get("iteration", 0))
        if state.get("noise_state") is not None:
            self._noise_restore = (state["noise_device"], state["noise_state"])
