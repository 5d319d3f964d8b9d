"""What every generative LightningModule shares (GAN, BEGAN, the autoencoder): manual optimisation with
optimizers and schedulers built from factories, a training length in iterations, an explicit iteration counter,
a dedicated checkpointed noise RNG, the global RNG in checkpoints (exact resume), sampling from ``self.generator``
and label handling for conditional nets.

``GenerativeModule`` is that common part; ``AdversarialModule`` (``modules/adversarial.py``) adds a discriminator,
its optimizer and the moving average of G.
Subclasses write ``training_step`` only."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from ganlab.modules.hyperparameters import apply_configured, configured_groups
from ganlab.nets.base import eval_mode
from ganlab.priors import check_prior, draw_latent

OptimizerFactory = Callable[..., torch.optim.Optimizer]
#: Odd 64-bit constant spreading the DDP ranks' noise seeds (rank 0 keeps ``noise_seed``: one process is unchanged).
RANK_SEED_STRIDE = 0x9E3779B97F4A7C15
#: Lightning's bookkeeping attributes that it sets around every hook it calls (44 times per ring iteration): plain
#: values, never parameters, buffers or submodules, so they skip ``nn.Module.__setattr__``'s checks (≈ 1.6 % of a ring
#: iteration: ``python -m experiments.bench.hook_costs``).
PLAIN_ATTRIBUTES = frozenset({"_current_fx_name"})


def rank_noise_seed(noise_seed: int, rank: int) -> int:
    """The noise seed of DDP rank ``rank``: every rank draws its own latents."""
    return (noise_seed + rank * RANK_SEED_STRIDE) % 2**64


def grad_norm(params) -> Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


class GenerativeModule(pl.LightningModule):
    """Subclasses set ``self.generator`` (or a ``generator`` property), list their optimizers in
    ``optimizer_specs`` and write ``training_step``, ending each iteration with ``end_iteration``."""

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, *args, **kwargs):
        """Lightning's loader cannot rebuild ganlab's networks, loss and optimizer factories (they are config nodes,
        not hyper-parameters): one line naming the loader that can."""
        raise TypeError(
            f"{cls.__name__}.load_from_checkpoint cannot rebuild a ganlab module; use ganlab.load({checkpoint_path!r}),"
            " which rebuilds it from the run configuration the checkpoint records"
        )

    def __setattr__(self, name: str, value) -> None:
        if name in PLAIN_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def __init__(
        self,
        latent_dim: int,
        scheduler_interval: str = "iteration",
        max_iterations: int | None = None,
        noise_seed: int = 0,
        log_every_n_iterations: int | None = None,
        latent_prior: str = "normal",
    ):
        super().__init__()
        self.automatic_optimization = False
        #: p(z): ``normal`` or ``uniform`` (U[−1, 1]); training, grids, metrics and the latent tools all draw from it.
        self.latent_prior = check_prior(latent_prior)
        self.scheduler_interval = scheduler_interval
        self.latent_dim = latent_dim
        self.max_iterations = max_iterations
        self.log_every_n_iterations = log_every_n_iterations
        self.noise_seed = noise_seed
        #: Dedicated RNG for latent noise, penalties' interpolation and unrolling; checkpointed.
        self.noise = torch.Generator().manual_seed(noise_seed)
        #: Completed training iterations (batches); unlike ``global_step`` it does not count optimizer steps.
        self.iteration = 0
        self._noise_restore: tuple[str, Tensor, Tensor | None] | None = None
        self._noise_rank = 0  # the DDP rank the noise RNG is seeded for
        self._global_rng_restore: Tensor | None = None
        #: Plain-dict run configuration, stored in checkpoints (set by the entry point).
        self.run_config: dict | None = None
        #: (iteration, {name: value}) of the last logged iteration, for diagnostics callbacks.
        self.last_logged: tuple[int, dict[str, float]] | None = None

    def optimizer_specs(self) -> list[tuple[Iterable[nn.Parameter], OptimizerFactory, Callable | None]]:
        """(parameters, optimizer factory, scheduler factory or None) per optimizer, in ``self.optimizers()`` order."""
        raise NotImplementedError

    # ----------------------------------------------------------------- conditioning
    def conditional_nets(self) -> tuple[nn.Module, ...]:
        """The networks whose ``num_classes`` makes the model conditional."""
        return (self.generator,)

    @property
    def num_classes(self) -> int | None:
        """Number of classes when a network is conditional (None: unconditional)."""
        for net in self.conditional_nets():
            if getattr(net, "num_classes", None):
                return net.num_classes
        return None

    def split_batch(self, batch) -> tuple[Tensor, Tensor | None]:
        """(images, labels): labels only when the nets are conditional."""
        images = batch[0] if isinstance(batch, list | tuple) else batch
        labels = batch[1] if self.num_classes and isinstance(batch, list | tuple) and len(batch) > 1 else None
        if self.num_classes and labels is None:
            raise ValueError("a conditional GAN needs a labelled dataset (batches of (images, labels))")
        return images, labels

    @staticmethod
    def conditioned(net: Callable, labels: Tensor | None) -> Callable:
        """``net`` with the labels bound (unchanged for unconditional nets)."""
        if labels is None:
            return net
        return lambda x: net(x, labels=labels)

    # ----------------------------------------------------------------- sampling
    def sample_latent(self, n: int) -> Tensor:
        """Training latents, from the checkpointed noise RNG."""
        return draw_latent(n, self.latent_dim, self.latent_prior, self.noise)

    def draw_latent(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` latents from the prior, drawn from ``generator`` (evaluation: fixed seed, training noise untouched)."""
        return draw_latent(n, self.latent_dim, self.latent_prior, generator)

    def balanced_labels(self, n: int) -> Tensor | None:
        """0, 1, …, K−1, 0, 1, … for a conditional generator (None otherwise)."""
        return torch.arange(n, device=self.device) % self.num_classes if self.num_classes else None

    def generate(self, z: Tensor, labels: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        """G(z) (or ``net``(z)), with the labels when G itself is conditional (a conditional D may judge an
        unconditional G)."""
        net = self.generator if net is None else net
        if labels is None or not getattr(net, "num_classes", None):
            return net(z)
        return net(z, labels)

    @property
    def eval_generator(self) -> nn.Module:
        """The generator evaluation samples from (an adversarial module with an EMA overrides this)."""
        return self.generator

    @property
    def evaluated_with(self) -> str:
        """Which generator evaluation uses, said in every summary: "generator" or "ema"."""
        return "generator"

    @torch.no_grad()
    def sample(self, n: int | None = None, z: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        """Samples of ``eval_generator`` in eval mode (for metrics and plots); does not consume training noise when
        ``z`` is given. A conditional generator without ``labels`` draws classes in turn."""
        z = self.sample_latent(n) if z is None else z.to(self.device)
        if labels is None:
            labels = self.balanced_labels(z.shape[0])
        net = self.eval_generator
        with eval_mode(net):
            return self.generate(z, None if labels is None else labels.to(self.device), net)

    def _fake(self, n: int, labels: Tensor | None, with_graph: bool) -> Tensor:
        with torch.set_grad_enabled(with_graph):
            return self.generate(self.sample_latent(n), labels)

    # ----------------------------------------------------------------- optimisation
    def configure_optimizers(self):
        configs = []
        for params, factory, scheduler in self.optimizer_specs():
            opt = factory(params)
            configs.append({"optimizer": opt, **({"lr_scheduler": scheduler(opt)} if scheduler else {})})
        #: The configured hyper-parameters per optimizer and group (a resume re-applies them over the checkpoint's).
        self._configured_groups = configured_groups([c["optimizer"] for c in configs])
        return configs

    def _apply_configured_hyperparameters(self) -> None:
        """After a resume, the optimizers use the run's configured hyper-parameters, not the checkpoint's
        (``ganlab/modules/hyperparameters.py``)."""
        configured = getattr(self, "_configured_groups", None)
        if configured:
            apply_configured(self.trainer.optimizers, configured, self.lr_schedulers())

    def should_log(self) -> bool:
        """Whether the iteration being run logs its metrics."""
        return (self.iteration + 1) % max(self.log_every_n_iterations or 1, 1) == 0

    def end_iteration(self, metrics: dict[str, Tensor] | None, batch_size: int) -> None:
        """Count the iteration, step per-iteration schedulers, log, and stop at ``max_iterations``."""
        self.iteration += 1
        if self.scheduler_interval == "iteration":
            self._step_schedulers()
        if metrics:
            self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=batch_size)
            self.last_logged = (self.iteration, {k: float(v) for k, v in metrics.items()})
        if self.max_iterations is not None and self.iteration >= self.max_iterations:
            self.trainer.should_stop = True

    def on_fit_start(self) -> None:
        if self.device.type == "cpu":
            # lightning_fabric sets this at import (it avoids fork-poisoning CUDA in forked GPU workers); with a
            # CUDA build of torch on a machine without GPU it makes every optimizer.step() dlopen NVML
            # (≈ 0.13 ms per step, measured). A CPU fit has no CUDA to protect.
            os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
        rank, world_size = self.global_rank, self.trainer.world_size
        if self.noise.device != self.device or self._noise_rank != rank:
            self.noise = torch.Generator(self.device).manual_seed(rank_noise_seed(self.noise_seed, rank))
            self._noise_rank = rank
        if self._noise_restore is not None:
            device_type, state, states = self._noise_restore
            if device_type != self.device.type:
                raise RuntimeError(
                    f"checkpoint noise RNG was saved on {device_type}, this run is on {self.device.type}: "
                    "exact resume needs the same device type"
                )
            if states is not None and states.shape[0] == world_size:  # same world size: exact
                self.noise.set_state(states[rank].clone())
            elif rank == 0:
                self.noise.set_state(state)
            else:  # another world size: distinct noise per rank, not an uninterrupted run's
                self.noise.manual_seed(rank_noise_seed(self.noise_seed + self.iteration, rank))
            self._noise_restore = None
        if self.log_every_n_iterations is None:
            self.log_every_n_iterations = self.trainer.log_every_n_steps

    def on_train_start(self) -> None:
        """Re-apply a resumed run's global RNG state (last thing before the first batch). With a length in
        iterations and no epoch limit, bound the epochs too (the progress bar shows it); ``should_stop`` ends
        training at the exact iteration, the bound only has to be large enough."""
        if self._global_rng_restore is not None:
            torch.set_rng_state(self._global_rng_restore)
            self._global_rng_restore = None
            self._apply_configured_hyperparameters()  # a resumed run
        if self.max_iterations is not None and self.iteration >= self.max_iterations:
            self.trainer.should_stop = True  # resumed at its end: no epoch starts, no second end-of-epoch evaluation
            return
        batches = self.trainer.num_training_batches
        if self.max_iterations and self.trainer.max_epochs in (None, -1) and math.isfinite(batches) and batches > 0:
            remaining = max(self.max_iterations - self.iteration, 0)
            resumed_slack = 1 if self.iteration else 0  # a checkpoint may have been written mid-epoch
            epochs = self.trainer.current_epoch + math.ceil(remaining / batches) + resumed_slack
            self.trainer.fit_loop.max_epochs = max(epochs, 1)

    def on_train_batch_start(self, batch, batch_idx: int):
        """A run resumed from its final checkpoint (or a requeued job that had finished) trains no more."""
        if self.max_iterations is not None and self.iteration >= self.max_iterations:
            self.trainer.should_stop = True
            return -1  # Lightning: skip the rest of this epoch
        return None

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
            "noise_state": self.noise.get_state(),  # rank 0's
            "noise_states": self._gather_noise_states(),  # every rank's (None with one process)
            "torch_rng_state": torch.get_rng_state(),  # dropout and any other global draw
            "config": self.run_config,
            # this iteration's training numbers, which Lightning sends to the loggers only after the checkpoint is
            # written (ganlab's CSV record restores that row on resume: composition/csv_history.py)
            "last_logged": self._last_logged_record(),
        }

    def _last_logged_record(self) -> dict | None:
        if self.last_logged is None or self.last_logged[0] != self.iteration or self._trainer is None:
            return None
        return {"iteration": self.iteration, "epoch": self.trainer.current_epoch, "values": dict(self.last_logged[1])}

    def _gather_noise_states(self) -> Tensor | None:
        """Every DDP rank's noise RNG state, (world_size, n) uint8 on the CPU; None with one process. A collective:
        ``Trainer.save_checkpoint`` runs on every rank."""
        if self.trainer.world_size <= 1 or not torch.distributed.is_initialized():
            return None
        state = self.noise.get_state().to(self.device)  # NCCL gathers device tensors
        states = [torch.empty_like(state) for _ in range(self.trainer.world_size)]
        torch.distributed.all_gather(states, state)
        return torch.stack(states).cpu()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("ganlab", {})
        self.iteration = int(state.get("iteration", 0))
        if state.get("noise_state") is not None:
            self._noise_restore = (state["noise_device"], state["noise_state"], state.get("noise_states"))
        self._global_rng_restore = state.get("torch_rng_state")
