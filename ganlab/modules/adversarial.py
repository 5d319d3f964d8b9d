"""``AdversarialModule``: a generator and a discriminator with their own optimizers and schedulers, and the
G-side plug-in point — an optional moving average of G that evaluation samples from (GAN, BEGAN)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ganlab.modules.base import GenerativeModule, OptimizerFactory
from ganlab.modules.ema import GeneratorEMA


class AdversarialModule(GenerativeModule):
    """A generator and a discriminator with their own optimizers and schedulers (GAN, BEGAN)."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        latent_dim: int,
        scheduler_g: Callable | None = None,
        scheduler_d: Callable | None = None,
        ema: GeneratorEMA | None = None,
        **common,
    ):
        """``common``: GenerativeModule's options (scheduler_interval, max_iterations, noise_seed,
        log_every_n_iterations). ``ema``: keep a moving average of G for evaluation (``ganlab/modules/ema.py``)."""
        super().__init__(latent_dim, **common)
        self.generator, self.discriminator = generator, discriminator
        self.optimizer_factories = (optimizer_g, optimizer_d)
        self.scheduler_factories = (scheduler_g, scheduler_d)
        self.ema = ema
        self.generator_ema = ema.average(generator) if ema is not None else None

    @property
    def eval_generator(self) -> nn.Module:
        """The generator that samples for evaluation: the moving average once it has started, else G."""
        if self.generator_ema is not None and int(self.generator_ema.n_averaged) > 0:
            return self.generator_ema.module
        return self.generator

    @property
    def evaluated_with(self) -> str:
        return "ema" if self.eval_generator is not self.generator else "generator"

    def end_iteration(self, metrics: dict[str, Tensor] | None, batch_size: int) -> None:
        """After the iteration's G steps: one update of G's moving average (from ``ema.start`` on)."""
        if self.generator_ema is not None and self.iteration >= self.ema.start:
            self.generator_ema.update_parameters(self.generator)
        super().end_iteration(metrics, batch_size)

    def optimizer_specs(self):
        nets = (self.generator, self.discriminator)
        return [
            (net.parameters(), factory, scheduler)
            for net, factory, scheduler in zip(nets, self.optimizer_factories, self.scheduler_factories, strict=True)
        ]

    def conditional_nets(self) -> tuple[nn.Module, ...]:
        return (self.generator, self.discriminator)
