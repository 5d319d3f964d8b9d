"""The baselines of issue #20's targets: a GAN written as the plain PyTorch loop a researcher would write by hand,
on the networks, optimizers, schedulers, data and batch a composed ganlab config names (built by Hydra's
``instantiate``), with none of ganlab's training code (no LightningModule, no ``ganlab.losses``, no
``ganlab.unroll``).

- The non-saturating loss in softplus form; one D call on ``cat([real, fake])`` where ganlab makes one too
  (``Discriminator.joint_batches``: the faster of the two ways, so the comparison is the strict one).
- Unrolling (Metz et al.): k Adam steps of a functional copy of D on this step's minibatch, written with
  ``torch.func.functional_call`` and ``torch._foreach_*`` (the "plain foreach implementation" of the issue), first
  or second order; second order uses sqrt(v̂ + ε²) like ganlab (finite second derivatives at v̂ = 0).
- ``extra_d_updates``: the unrolled run's lower bound, one k = 0 iteration plus k real D updates (forward, backward,
  optimizer step) of a scratch copy of D.

``PlainLoop.step()`` runs one iteration (its batch fetch included).

    python -m experiments.bench.plain RUN_DIR   # fastpath's whole_run baseline: ring_unrolled as a plain script
"""

from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch.func import functional_call

RING = ["experiment=ring_unrolled"]


def compose(overrides: list[str], run_dir: Path):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    import ganlab.composition.build  # noqa: F401  (registers the schemas and resolvers; Lightning is imported lazily)
    from ganlab.common.errors import CONF_DIR

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose("train", overrides=[*overrides, f"paths.run_dir={run_dir}"])


def logits(d, real: torch.Tensor, fake: torch.Tensor, joint: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if joint:
        out = d(torch.cat([real, fake]))
        return out[: real.shape[0]], out[real.shape[0] :]
    return d(real), d(fake)


def d_loss_ns(d, real: torch.Tensor, fake: torch.Tensor, joint: bool) -> torch.Tensor:
    real_logits, fake_logits = logits(d, real, fake, joint)
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def adam_lookahead(d, opt_d: torch.optim.Adam, real, fake, steps: int, second_order: bool, joint: bool):
    """D after ``steps`` functional Adam updates on (real, fake), seeded from ``opt_d``'s moments."""
    group = opt_d.param_groups[0]
    (b1, b2), lr, eps = group["betas"], group["lr"], group["eps"]
    names, live = zip(*d.named_parameters(), strict=True)
    states = [opt_d.state.get(p, {}) for p in live]
    m = [s["exp_avg"] if s else torch.zeros_like(p) for s, p in zip(states, live, strict=True)]
    v = [s["exp_avg_sq"] if s else torch.zeros_like(p) for s, p in zip(states, live, strict=True)]
    t = float(states[0]["step"]) if states[0] else 0.0
    ps = [p.detach().requires_grad_(True) for p in live]
    for _ in range(steps):
        if not second_order:
            ps = [p.detach().requires_grad_(True) for p in ps]
        current = dict(zip(names, ps, strict=True))
        loss = d_loss_ns(lambda x, current=current: functional_call(d, current, (x,)), real, fake, joint)
        gs = torch.autograd.grad(loss, ps, create_graph=second_order)
        t += 1.0
        with torch.set_grad_enabled(second_order):
            m = torch._foreach_add(torch._foreach_mul(m, b1), gs, alpha=1 - b1)
            v = torch._foreach_addcmul(torch._foreach_mul(v, b2), gs, gs, value=1 - b2)
            bc1, bc2 = 1 - b1**t, 1 - b2**t
            if second_order:
                den = torch._foreach_sqrt(torch._foreach_add(torch._foreach_div(v, bc2), eps * eps))
                ps = torch._foreach_add(ps, torch._foreach_div(m, den), alpha=-lr / bc1)
            else:
                den = torch._foreach_add(torch._foreach_div(torch._foreach_sqrt(v), math.sqrt(bc2)), eps)
                ps = torch._foreach_addcdiv(ps, m, den, value=-lr / bc1)
    if not second_order:
        ps = [p.detach() for p in ps]
    params = dict(zip(names, ps, strict=True))
    return lambda x: functional_call(d, params, (x,))


def build_plain(cfg):
    """(G, D, opt_g, opt_d, schedulers) from a composed ganlab config, seeded like a run."""
    torch.manual_seed(cfg.seed)
    g, d = instantiate(cfg.model.generator), instantiate(cfg.model.discriminator)
    opt_g = instantiate(cfg.optim.generator)(g.parameters())
    opt_d = instantiate(cfg.optim.discriminator)(d.parameters())
    schedulers = [
        instantiate(spec)(opt)
        for spec, opt in ((cfg.optim.get("scheduler_g"), opt_g), (cfg.optim.get("scheduler_d"), opt_d))
        if spec is not None
    ]
    return g, d, opt_g, opt_d, schedulers


def ring_batches(data):
    """The ring's batches without its LightningDataModule (so without importing Lightning): the same seeded pool
    (``Mixture.sample``, as ``Toy2DDataModule.setup`` draws it), batches drawn with replacement from it."""
    from ganlab.data.mixtures import ring_mixture

    pool = ring_mixture(**data.mixture_kwargs).sample(data.pool_size, torch.Generator().manual_seed(data.seed))
    draw = torch.Generator().manual_seed(data.seed + 1)
    while True:
        yield (pool[torch.randint(data.pool_size, (data.batch_size,), generator=draw)],)


class PlainLoop:
    """The plain training loop, one iteration per ``step()`` (the loader restarts at each epoch end)."""

    def __init__(
        self,
        cfg,
        unroll_steps: int = 0,
        second_order: bool = False,
        extra_d_updates: int = 0,
        hand_written_ring: bool = False,
        game_surrogate: bool = True,
    ):
        """``hand_written_ring``: batches from ``ring_batches`` instead of the config's datamodule;
        ``game_surrogate``: second order's G loss holds D_K's data term (``unroll_surrogate=game``), else fakes only
        (``fake_only``, ganlab before issue #29)."""
        self.g, self.d, self.opt_g, self.opt_d, self.schedulers = build_plain(cfg)
        if hand_written_ring:
            self.datamodule, self.batches = None, ring_batches(cfg.data)
        else:
            self.datamodule = instantiate(cfg.data)
            self.datamodule.setup("fit")
            self.batches = iter(())
        self.joint = bool(getattr(self.d, "joint_batches", False))
        self.latent = cfg.model.latent_dim
        self.unroll_steps, self.second_order, self.game_surrogate = unroll_steps, second_order, game_surrogate
        self.noise = torch.Generator().manual_seed(0)
        self.extra_d_updates = extra_d_updates
        if extra_d_updates:
            self.scratch = copy.deepcopy(self.d)
            self.opt_scratch = instantiate(cfg.optim.discriminator)(self.scratch.parameters())

    def next_real(self) -> torch.Tensor:
        batch = next(self.batches, None)
        if batch is None:
            self.batches = iter(self.datamodule.train_dataloader())
            batch = next(self.batches)
        return batch[0]

    def step(self, real: torch.Tensor | None = None, backward=torch.Tensor.backward, optimizers=None) -> None:
        """One iteration on ``real`` (default: the next batch). ``backward(loss)`` and ``optimizers`` (G's, D's)
        let a LightningModule run the same maths through ``manual_backward`` and its ``LightningOptimizer``s."""
        g, d = self.g, self.d
        opt_g, opt_d = optimizers or (self.opt_g, self.opt_d)
        real = self.next_real() if real is None else real
        n = real.shape[0]
        with torch.no_grad():
            fake = g(torch.randn(n, self.latent, generator=self.noise))
        opt_d.zero_grad(set_to_none=True)
        backward(d_loss_ns(d, real, fake, self.joint))
        opt_d.step()
        for _ in range(self.extra_d_updates):
            self.opt_scratch.zero_grad(set_to_none=True)
            d_loss_ns(self.scratch, real, fake, self.joint).backward()
            self.opt_scratch.step()
        d.requires_grad_(False)
        fake = g(torch.randn(n, self.latent, generator=self.noise))
        d_fn = d
        if self.unroll_steps:
            unroll_fake = fake if self.second_order else fake.detach()
            d_fn = adam_lookahead(d, self.opt_d, real, unroll_fake, self.unroll_steps, self.second_order, self.joint)
        if self.unroll_steps and self.second_order and self.game_surrogate:  # Metz et al.'s f_K: − D_K's data term
            real_logits, fake_logits = logits(d_fn, real, fake, self.joint)
            g_loss = F.softplus(-fake_logits).mean() - F.softplus(-real_logits).mean()
        else:
            g_loss = F.softplus(-d_fn(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        backward(g_loss)
        opt_g.step()
        d.requires_grad_(True)
        for scheduler in self.schedulers:
            scheduler.step()


def plain_whole_run(run_dir: Path) -> None:
    """The plain script of ``whole_run``: ring_unrolled's iterations on hand-written ring batches (no Lightning is
    imported), then its final metrics and checkpoint."""
    from ganlab.data.mixtures import ring_mixture
    from ganlab.metrics.modes import mode_coverage

    torch.set_num_threads(1)
    cfg = compose(RING, run_dir)
    loop = PlainLoop(cfg, unroll_steps=cfg.model.unroll_steps, hand_written_ring=True)
    for _ in range(cfg.model.max_iterations):
        loop.step()
    ring = ring_mixture(**cfg.data.mixture_kwargs)
    with torch.no_grad():
        z = torch.randn(2500, cfg.model.latent_dim, generator=torch.Generator().manual_seed(1234))
        result = mode_coverage(loop.g(z), ring.centers, ring.std, 3.0)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps({"mode_coverage": result.as_dict()}) + "\n")
    torch.save({"generator": loop.g.state_dict(), "discriminator": loop.d.state_dict()}, run_dir / "last.ckpt")
    assert "pytorch_lightning" not in sys.modules


if __name__ == "__main__":
    plain_whole_run(Path(sys.argv[1]))
