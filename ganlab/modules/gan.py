"""The one GAN engine: a LightningModule with manual optimisation for every adversarial variant.

Per batch (the lecture's pseudocode, Goodfellow et al. Alg. 1, with the course report's -ds/-gs/-k):

    for d_steps:  D ← D - ∇_D [loss_D(D(x), D(G(z))) + penalties];  constrain D   (D sees augmented samples
                  when the loss bundle has an augmentation; ganlab.losses.GANLoss)
    for g_steps:  D_k ← k look-ahead updates of a functional copy of D   (k = 0: D_k = D)
                  G ← G - ∇_G loss_G(D_k(G(z)))                          (first order: D_k a constant)
                  G ← G - ∇_G [loss_G(D_k(G(z))) - loss_D^data(D_k(x))]  (second order: Metz et al.'s surrogate,
                                                                          ``unroll_surrogate``; UnrollSurrogate)

``update_rule=simultaneous`` (one D and one G step) takes both gradients at the same point from one draw of z,
then both steps: the update of PacGAN's and ALI's reference code (``ali/algorithms.py``: one graph, each
player's gradient of its own loss, one joint step).

A loss, an architecture or a dataset plugs in through the constructor: the step never changes. Conditional
nets (``num_classes``) get the batch's labels bound to G and D; fakes are drawn for the same labels.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganlab.common.options import UnrollMode, UnrollSurrogate, Update  # noqa: F401  (re-exported)
from ganlab.losses import DiscriminatorFn, GANLoss
from ganlab.modules.adversarial import AdversarialModule
from ganlab.modules.base import OptimizerFactory, grad_norm
from ganlab.unroll import check_supported, lookahead


class GANModule(AdversarialModule):
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
        unroll_surrogate: str | UnrollSurrogate = UnrollSurrogate.game,
        real_label: float = 1.0,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        update_rule: str | Update = Update.alternating,
        **common,
    ):
        """``common``: AdversarialModule's options (scheduler_g/_d, scheduler_interval, max_iterations,
        noise_seed, log_every_n_iterations)."""
        super().__init__(generator, discriminator, optimizer_g, optimizer_d, latent_dim, **common)
        self.loss = loss
        self.loss.joint = bool(getattr(discriminator, "joint_batches", False))  # one D call on cat([real, fake])
        self.d_steps, self.g_steps = d_steps, g_steps
        self.unroll_steps, self.unroll_mode = unroll_steps, UnrollMode(unroll_mode)
        self.unroll_surrogate = UnrollSurrogate(unroll_surrogate)
        self.real_label = real_label
        self.grad_clip_g, self.grad_clip_d = grad_clip_g, grad_clip_d
        self.update_rule = Update(update_rule)
        if self.update_rule is Update.simultaneous and (d_steps, g_steps) != (1, 1):
            raise ValueError(
                f"update_rule=simultaneous takes one step per player, got d_steps={d_steps}, g_steps={g_steps}; "
                "accepted: d_steps=1 g_steps=1, or update_rule=alternating"
            )

    def configure_optimizers(self):
        configs = super().configure_optimizers()
        if self.unroll_steps > 0:
            check_supported(configs[1]["optimizer"])
        return configs

    def training_step(self, batch, batch_idx: int) -> None:
        real, labels = self.split_batch(batch)
        self.loss.start(self.iteration, self.noise)
        opt_g, opt_d = self.optimizers()
        metrics: dict[str, Tensor] | None = {} if self.should_log() else None
        if self.update_rule is Update.simultaneous:
            fake = self._fake(real.shape[0], labels, with_graph=True)
            g_loss = self._generator_gradient(real, labels, opt_g, fake)  # at the current D ...
            self._discriminator_step(real, labels, opt_d, metrics, fake.detach())  # ... which only then moves
            self._finish_step(opt_g, self.generator, self.grad_clip_g, metrics, "g")
            if metrics is not None:
                metrics["train/g_loss"] = g_loss
        else:
            for d_step in range(self.d_steps):
                self._discriminator_step(real, labels, opt_d, metrics, d_step=d_step)
            for _ in range(self.g_steps):
                self._generator_step(real, labels, opt_g, metrics)
        self.end_iteration(metrics, real.shape[0])

    def _discriminator_step(
        self,
        real: Tensor,
        labels: Tensor | None,
        opt,
        metrics: dict | None,
        fake: Tensor | None = None,
        d_step: int = 0,
    ) -> None:
        if fake is None:
            fake = self._fake(real.shape[0], labels, with_graph=False)
        d_fn = self.conditioned(self.discriminator, labels)
        out = self.loss.discriminator(d_fn, real, fake, self.real_label, observe=True, d_step=d_step)
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
            for name, term in out.penalties.items():
                metrics[f"train/d_penalty_{name}"] = term.detach()
            if out.penalties:
                metrics["train/d_penalty"] = out.penalty.detach()
            for name, value in self.loss.diagnostics().items():
                metrics[f"train/{name}"] = value.detach().clone()
            if objective.critic:
                metrics["train/wasserstein"] = metrics["train/d_real"] - metrics["train/d_fake"]

    def _generator_step(self, real: Tensor, labels: Tensor | None, opt, metrics: dict | None) -> None:
        fake = self._fake(real.shape[0], labels, with_graph=True)
        g_loss = self._generator_gradient(real, labels, opt, fake)
        self._finish_step(opt, self.generator, self.grad_clip_g, metrics, "g")
        if metrics is not None:
            metrics["train/g_loss"] = g_loss

    def _generator_gradient(self, real: Tensor, labels: Tensor | None, opt, fake: Tensor) -> Tensor:
        """G's gradient of its loss against D (or D's look-ahead) in ``.grad``; returns the detached loss. Against a
        second-order look-ahead, which depends on G, the loss is Metz et al.'s surrogate (``GANLoss.surrogate``)."""
        self.toggle_optimizer(opt)  # D's parameters stop requiring grad: no wasted D gradients
        d_fn = self._lookahead_discriminator(real, fake, labels) if self.unroll_steps > 0 else self.discriminator
        d_fn = self.conditioned(d_fn, labels)
        if self.unroll_steps > 0 and self.unroll_mode is UnrollMode.second_order:  # D_k depends on G
            g_loss = self.loss.surrogate(d_fn, real, fake, self.real_label, self.unroll_surrogate.value)
        else:
            g_loss, _ = self.loss.generator(d_fn, fake)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        self.untoggle_optimizer(opt)
        return g_loss.detach()

    def _finish_step(self, opt, net: nn.Module, clip: float | None, metrics: dict | None, tag: str) -> None:
        if metrics is not None:
            metrics[f"train/grad_norm_{tag}"] = grad_norm(net.parameters())
        if clip:
            self.clip_gradients(opt, gradient_clip_val=clip, gradient_clip_algorithm="norm")
        opt.step()

    def _lookahead_discriminator(self, real: Tensor, fake: Tensor, labels: Tensor | None = None) -> DiscriminatorFn:
        """D after k simulated updates on this step's minibatch (the same x and z for every update, as in
        Metz et al.'s surrogate f_K(θ_G, θ_D)); second order keeps the fakes' graph to G."""
        second_order = self.unroll_mode is UnrollMode.second_order
        unroll_fake = fake if second_order else fake.detach()

        def d_loss(d_fn: DiscriminatorFn) -> Tensor:
            d_fn = self.conditioned(d_fn, labels)
            return self.loss.discriminator(d_fn, real, unroll_fake, self.real_label).total

        opt_d = self.optimizers()[1].optimizer
        return lookahead(self.discriminator, opt_d, d_loss, self.unroll_steps, second_order, self.loss.constraint)
