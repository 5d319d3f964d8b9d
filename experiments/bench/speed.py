"""Speed benchmark (issue #2), every ratio measured against a baseline in the same run:

1. ganlab's GAN iteration (GANModule under a Lightning Trainer) vs a plain hand-written PyTorch loop
   on the same networks, batch, optimizer and data (target ratio plain/ganlab ≥ 0.97);
2. first-order unrolling k = 5: ganlab's functional look-ahead vs a deepcopy-per-iteration
   implementation (copy D and its optimizer, step the copy k times; target ≥ 1.5× faster);
3. second-order unrolling: time per iteration and autograd memory (bytes of saved tensors) vs k.

    python -m experiments.bench.speed [--iterations 300] [--batch 512] [--threads 1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from functools import partial
from pathlib import Path

import pytorch_lightning as pl
import torch

from ganlab.data import Toy2DDataModule
from ganlab.losses import GANLoss, NonSaturating
from ganlab.modules import GANModule
from ganlab.nets import MLPDiscriminator, MLPGenerator

OUT = Path(__file__).parent / "out"
LATENT = 256


def nets(seed=0):
    torch.manual_seed(seed)
    return MLPGenerator(latent_dim=LATENT), MLPDiscriminator()


def adam():
    return partial(torch.optim.Adam, lr=1e-4, betas=(0.5, 0.999))


def sync() -> None:
    """Wait for queued CUDA work, so that a wall-clock reading covers it (nothing to wait for on the CPU)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class Timer(pl.Callback):
    """Wall time of the training batches after ``warmup`` iterations (excludes Trainer start-up; CUDA work
    included)."""

    def __init__(self, warmup):
        self.warmup, self.start, self.count = warmup, None, 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if module.iteration == self.warmup:
            sync()
            self.start = time.perf_counter()

    def on_train_end(self, trainer, module):
        sync()
        self.elapsed = time.perf_counter() - self.start
        self.count = module.iteration - self.warmup


def ganlab_iteration_time(iterations, batch, warmup, unroll_steps=0, mode="first_order"):
    g, d = nets()
    module = GANModule(
        g,
        d,
        GANLoss(NonSaturating()),
        adam(),
        adam(),
        latent_dim=LATENT,
        unroll_steps=unroll_steps,
        unroll_mode=mode,
        max_iterations=iterations + warmup,
    )
    dm = Toy2DDataModule(batch_size=batch, iterations_per_epoch=iterations + warmup)
    timer = Timer(warmup)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=50,
        callbacks=[timer],
    )
    trainer.fit(module, datamodule=dm)
    return timer.elapsed / timer.count


def plain_iteration_time(iterations, batch, warmup, unroll_steps=0, fresh_fakes=False):
    """The loop a researcher would write by hand. unroll_steps > 0 uses the deepcopy method: copy D and
    its optimizer, step the copy k times, update G against it. ``fresh_fakes`` redraws z for every
    unrolled step (the course report's borrowed code) instead of reusing the step's minibatch."""
    g, d = nets()
    opt_g, opt_d = adam()(g.parameters()), adam()(d.parameters())
    loss = NonSaturating()
    dm = Toy2DDataModule(batch_size=batch, iterations_per_epoch=iterations + warmup)
    noise = torch.Generator().manual_seed(0)
    start = None
    for i, (real,) in enumerate(dm.train_dataloader()):
        if i == warmup:
            start = time.perf_counter()
        with torch.no_grad():
            fake = g(torch.randn(batch, LATENT, generator=noise))
        d_loss = loss.d_loss(d(real), d(fake))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        fake = g(torch.randn(batch, LATENT, generator=noise))
        d_eval = d
        if unroll_steps:
            d_eval = copy.deepcopy(d)
            opt_copy = adam()(d_eval.parameters())
            opt_copy.load_state_dict(copy.deepcopy(opt_d.state_dict()))
            for _ in range(unroll_steps):
                if fresh_fakes:
                    with torch.no_grad():
                        fake_u = g(torch.randn(batch, LATENT, generator=noise))
                else:
                    fake_u = fake.detach()
                opt_copy.zero_grad(set_to_none=True)
                loss.d_loss(d_eval(real), d_eval(fake_u)).backward()
                opt_copy.step()
        for p in d_eval.parameters():
            p.requires_grad_(False)
        g_loss = loss.g_loss(d_eval(fake))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for p in d.parameters():
            p.requires_grad_(True)
    return (time.perf_counter() - start) / iterations


def saved_tensor_bytes(k, batch):
    """Autograd memory of one second-order generator step: bytes of tensors saved for backward."""
    from ganlab.unroll import lookahead

    g, d = nets()
    opt_d = adam()(d.parameters())
    real = torch.randn(batch, 2)
    loss = GANLoss(NonSaturating())
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fake = g(torch.randn(batch, LATENT))

        def d_loss(d_fn):
            return loss.discriminator(d_fn, real, fake).total

        d_fn = lookahead(d, opt_d, d_loss, k, differentiable=True) if k else d
        g_loss, _ = loss.generator(d_fn, fake)
    g_loss.backward()
    return total[0]


def dcgan_sized_discriminator():
    """A 64×64 DCGAN-shaped discriminator (≈2.8 M parameters) to show how copy costs scale."""
    from torch import nn

    layers, ch_in = [], 3
    for ch in (64, 128, 256, 512):
        layers += [nn.Conv2d(ch_in, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch_in = ch
    return nn.Sequential(*layers, nn.Conv2d(512, 1, 4, 1, 0), nn.Flatten())


def copy_overhead_ms(d, repeats=50):
    """Per-iteration cost of preparing the look-ahead D: deepcopy(D) + a new optimizer loaded with a deep copy
    of the state (the deepcopy method) vs ganlab's functional seeding (detach parameters, clone moments)."""
    from ganlab.unroll import FunctionalOptimizer

    opt = adam()(d.parameters())
    x = torch.randn(2, *((2,) if isinstance(d, MLPDiscriminator) else (3, 64, 64)))
    d(x).sum().backward()
    opt.step()

    def deepcopy_method():
        copy_d = copy.deepcopy(d)
        copy_opt = adam()(copy_d.parameters())
        copy_opt.load_state_dict(copy.deepcopy(opt.state_dict()))

    def functional_method():
        named = list(d.named_parameters())
        FunctionalOptimizer(opt, named, differentiable=False)
        {n: p.detach().requires_grad_(True) for n, p in named}

    out = {}
    for name, fn in (("deepcopy", deepcopy_method), ("functional", functional_method)):
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        out[name] = 1e3 * (time.perf_counter() - start) / repeats
    return out


def median_of(fn, repeats):
    values = sorted(fn() for _ in range(repeats))
    return values[len(values) // 2]


def paired(candidate, baseline, repeats):
    """Run candidate and baseline alternately (ABAB…) so that machine drift hits both alike; return the median
    times and the median, min and max of the per-pair ratios baseline / candidate."""
    pairs = [(candidate(), baseline()) for _ in range(repeats)]
    ratios = sorted(b / c for c, b in pairs)
    return {
        "candidate_ms": 1e3 * sorted(c for c, _ in pairs)[repeats // 2],
        "baseline_ms": 1e3 * sorted(b for _, b in pairs)[repeats // 2],
        "ratio_median": ratios[repeats // 2],
        "ratio_min": ratios[0],
        "ratio_max": ratios[-1],
    }


def _fmt(p):
    return f"{p['ratio_median']:.3f} (range {p['ratio_min']:.3f}–{p['ratio_max']:.3f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n, b, w, r = args.iterations, args.batch, args.warmup, args.repeats
    results = {"batch": b, "iterations": n, "threads": args.threads, "torch": torch.__version__}

    # Lightning's loop costs a fixed time per iteration: measure at the ring's batch and at 8× the batch
    for batch in (b, 8 * b):
        p = paired(
            lambda batch=batch: ganlab_iteration_time(n, batch, w),
            lambda batch=batch: plain_iteration_time(n, batch, w),
            r,
        )
        results[f"k0_batch{batch}"] = p
        print(
            f"k=0 iteration, batch {batch}: ganlab {p['candidate_ms']:.2f} ms, plain loop {p['baseline_ms']:.2f} ms, "
            f"ratio plain/ganlab {_fmt(p)} (target ≥ 0.97)"
        )

    n5 = max(n // 3, 30)
    same = paired(
        lambda: ganlab_iteration_time(n5, b, w, unroll_steps=5),
        lambda: plain_iteration_time(n5, b, w, unroll_steps=5),
        r,
    )
    fresh = paired(
        lambda: ganlab_iteration_time(n5, b, w, unroll_steps=5),
        lambda: plain_iteration_time(n5, b, w, unroll_steps=5, fresh_fakes=True),
        r,
    )
    results["first_order_k5"] = {"vs_deepcopy_same_minibatch": same, "vs_deepcopy_fresh_z": fresh}
    print(
        f"first-order k=5: ganlab functional {same['candidate_ms']:.2f} ms; deepcopy, same minibatch "
        f"{same['baseline_ms']:.2f} ms, speed-up {_fmt(same)}; deepcopy, fresh z per unrolled step "
        f"{fresh['baseline_ms']:.2f} ms, speed-up {_fmt(fresh)} (target ≥ 1.5)"
    )

    results["copy_overhead"] = {}
    for name, d in (("ring_mlp_d", MLPDiscriminator()), ("dcgan64_d", dcgan_sized_discriminator())):
        params = sum(p.numel() for p in d.parameters())
        cost = copy_overhead_ms(d)
        results["copy_overhead"][name] = {"parameters": params, **cost}
        print(
            f"look-ahead set-up, {name} ({params / 1e6:.2f} M params): deepcopy {cost['deepcopy']:.3f} ms, "
            f"functional {cost['functional']:.3f} ms ({cost['deepcopy'] / cost['functional']:.1f}×)"
        )

    results["second_order"] = []
    for k in (0, 1, 2, 5, 10):
        t = ganlab_iteration_time(max(n // 10, 20), b, 5, unroll_steps=k, mode="second_order")
        mem = saved_tensor_bytes(k, b)
        results["second_order"].append({"k": k, "ms": 1e3 * t, "saved_tensor_mib": mem / 2**20})
        print(f"second-order k={k:2d}: {1e3 * t:7.2f} ms/iteration, autograd saved tensors {mem / 2**20:7.2f} MiB")

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "speed.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT / 'speed.json'}")


if __name__ == "__main__":
    main()
