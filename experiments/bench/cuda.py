"""GPU check and speed (run on a CUDA machine; not part of ``make bench``, which is CPU-only).

Every number is measured against a baseline in the same run, on the same machine:

1. **Training on CUDA**: for every model family, loss and unrolling mode (``CASES``), ``build(cfg)`` →
   ``trainer.fit`` (the code path of ``ganlab-train``, with the preset's callbacks) on ``trainer=gpu`` and on the
   machine's CPU, the same iterations; iterations per second after a warm-up, the GPU/CPU ratio, and the check
   that every logged number is finite. Mixed precision (bf16, fp16 with the gradient scaler) on the DCGAN.
2. **Exact resume on CUDA**: N iterations straight vs a SIGTERM preemption part-way and a resume, with
   ``trainer.deterministic=true``: the largest weight difference (0 = bit-exact).
3. **Latent toolkit on CUDA**: batched inversion of N images × S restarts vs the sequential per-image loop on the
   GPU (K pairs timed, extrapolated) with the final losses compared, the same batched inversion on the CPU, and a
   masked (pepper) inversion.

    python -m experiments.bench.cuda [--iterations 150] [--quick]

Data: scikit-learn's digits and the 2-D mixtures (nothing to download). Writes experiments/bench/out/cuda.json
(or ``$OUT/cuda.json`` when ``$OUT`` is set).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir

from experiments.bench.speed import Timer, sync
from ganlab.callbacks.run_checkpoint import Preempted
from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build
from ganlab.latent.inversion import invert
from ganlab.latent.masks import make_mask

OUT = Path(os.environ.get("OUT") or Path(__file__).parent / "out")
IMAGES = ["callbacks.diagnostics=null"]  # the per-epoch diagnostics figure costs the same on both devices
#: name → overrides; every GAN loss on the DCGAN, both unrolling modes, the conditional, BEGAN, the seed's M1/M3
#: model, mixed precision and the kurtosis autoencoder
CASES = {
    "ring k=5 first-order": ["experiment=ring_unrolled"],
    "ring k=5 second-order": ["experiment=ring_unrolled", "model.unroll_mode=second_order"],
    **{
        f"dcgan {loss}": ["experiment=digits_dcgan", f"loss={loss}", *IMAGES]
        + (["model.discriminator.norm=layer"] if loss in ("wgan_gp", "dragan") else [])  # per-sample gradients
        for loss in ("non_saturating", "minimax", "lsgan", "wgan", "wgan_gp", "dragan", "hinge")
    },
    "dcgan k=2 second-order": ["experiment=digits_dcgan", "model.unroll_steps=2", "model.unroll_mode=second_order"]
    + IMAGES,
    "dcgan bf16-mixed": ["experiment=digits_dcgan", "+trainer.precision=bf16-mixed", *IMAGES],
    "dcgan 16-mixed": ["experiment=digits_dcgan", "+trainer.precision=16-mixed", *IMAGES],
    "cgan mlp": ["experiment=mnist_cgan", "data=digits", "data.batch_size=64", *IMAGES],
    "began": ["experiment=mnist_began", "data=digits", "data.batch_size=64", *IMAGES],
    "seed M1 k=4": ["experiment=mnist_seed", "data=digits", *IMAGES],
    "kurtosis ae": ["experiment=digits_kurtosis_ae", "trainer.max_epochs=null", *IMAGES],
}
RESUME_CASES = ("ring k=5 second-order", "dcgan wgan_gp", "kurtosis ae")
ACCELERATORS = {"gpu": ["trainer=gpu"], "cpu": ["trainer=cpu", "trainer.deterministic=false"]}
COMMON = ["logger=none", "trainer.enable_progress_bar=false", "trainer.log_every_n_steps=5"]


def compose_cfg(run_dir: Path, overrides: list[str]):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=[*COMMON, f"paths.run_dir={run_dir}", *overrides])


class SignalAt(pl.Callback):
    def __init__(self, at: int):
        self.at = at

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if module.iteration == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)


def fit(run_dir: Path, overrides: list[str], extra_callbacks=(), ckpt_path=None):
    datamodule, module, trainer = build(compose_cfg(run_dir, overrides))
    trainer.callbacks[:0] = list(extra_callbacks)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    return module, trainer


#: undefined early in training by definition: the KL over modes needs at least one high-quality sample
MAY_BE_NAN = {"val/mode_kl"}


def finite_metrics(module, trainer) -> tuple[bool, dict]:
    """(every weight and every logged number finite, the logged numbers)."""
    values = {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}
    weights = all(bool(p.isfinite().all()) for p in module.parameters())
    return weights and all(math.isfinite(v) for k, v in values.items() if k not in MAY_BE_NAN), values


def training(root: Path, iterations: int, warmup: int) -> list[dict]:
    rows = []
    for name, overrides in CASES.items():
        row = {"case": name}
        for device, device_overrides in ACCELERATORS.items():
            timer = Timer(warmup)
            run = [*overrides, *device_overrides, f"model.max_iterations={iterations}"]
            module, trainer = fit(root / slug(f"{name}-{device}"), run, [timer])
            finite, metrics = finite_metrics(module, trainer)
            row[device] = {
                "it_per_s": timer.count / timer.elapsed,
                "iterations": module.iteration,
                "finite": finite,
                "on": str(next(module.parameters()).device),
            }
            if device == "gpu":
                row["metrics"] = {k: v for k, v in metrics.items() if not k.startswith("val/latent_cdf")}
        row["gpu_over_cpu"] = row["gpu"]["it_per_s"] / row["cpu"]["it_per_s"]
        rows.append(row)
        print(
            f"{name:24s} gpu {row['gpu']['it_per_s']:7.1f} it/s  cpu {row['cpu']['it_per_s']:6.1f} it/s  "
            f"ratio {row['gpu_over_cpu']:5.1f}  finite {row['gpu']['finite'] and row['cpu']['finite']}  "
            f"on {row['gpu']['on']}",
            flush=True,
        )
    return rows


def resume(root: Path, n: int, at: int) -> list[dict]:
    """Straight N iterations vs preempted at ``at`` and resumed, on CUDA with deterministic algorithms."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    rows = []
    for name in RESUME_CASES:
        overrides = [*CASES[name], *ACCELERATORS["gpu"], "trainer.deterministic=true", f"model.max_iterations={n}"]
        straight, _ = fit(root / slug(f"resume-{name}-a"), overrides)
        run_dir = root / slug(f"resume-{name}-b")
        try:
            fit(run_dir, overrides, [SignalAt(at)])
            raise RuntimeError(f"{name}: the SIGTERM at iteration {at} did not preempt the run")
        except Preempted:
            pass
        resumed, _ = fit(run_dir, overrides, ckpt_path=str(run_dir / "checkpoints" / "last.ckpt"))
        a, b = straight.state_dict(), resumed.state_dict()
        diff = max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
        rows.append({"case": name, "iterations": n, "preempted_at": at, "max_abs_weight_diff": diff})
        print(f"resume {name:24s} {n} its, preempted at {at}: max |Δw| = {diff:.3g}", flush=True)
    return rows


def latent(root: Path, iterations: int, n: int, pairs: int) -> dict:
    """Inversion of N noisy samples with a DCGAN generator trained 100 iterations on CUDA (its quality does not
    matter here), ``iterations`` SGD steps."""
    overrides = [*CASES["dcgan non_saturating"], *ACCELERATORS["gpu"], "model.max_iterations=100"]
    module, _ = fit(root / "latent-gan", overrides)
    g = module.generator.eval().requires_grad_(False)
    s, dim = 5, module.latent_dim
    targets = g(torch.randn(n, dim, device=module.device, generator=torch.Generator(module.device).manual_seed(1)))
    targets = (targets + 0.1 * torch.randn_like(targets)).clamp(-1, 1)
    z0 = torch.randn(n, s, dim, generator=torch.Generator().manual_seed(0))
    optim = dict(optimizer="sgd", lr=3.0, momentum=0.9, iterations=iterations)

    def timed(fn):
        sync()
        start = time.perf_counter()
        out = fn()
        sync()
        return out, time.perf_counter() - start

    invert(g, targets[:2], dim, restarts=s, z_init=z0[:2], **{**optim, "iterations": 5})  # warm-up
    batched, batched_s = timed(lambda: invert(g, targets, dim, restarts=s, z_init=z0, **optim))
    chosen = random.Random(0).sample([(i, j) for i in range(n) for j in range(s)], pairs)

    def sequential():
        return [
            invert(g, targets[i : i + 1], dim, restarts=1, z_init=z0[i : i + 1, j : j + 1], **optim).loss.item()
            for i, j in chosen
        ]

    losses, subset_s = timed(sequential)
    reference = torch.tensor([batched.restart_loss[i, j].item() for i, j in chosen])
    g_cpu = module.generator.to("cpu")
    _, cpu_s = timed(lambda: invert(g_cpu, targets.cpu(), dim, restarts=s, z_init=z0, **optim))
    g.to(module.device)
    mask = make_mask("pepper", n, *targets.shape[-2:]).to(targets.device)
    masked, masked_s = timed(lambda: invert(g, targets, dim, restarts=s, z_init=z0, mask=mask, **optim))
    summary = {
        "images": n,
        "restarts": s,
        **optim,
        "batched_gpu_s": batched_s,
        "sequential_gpu_s_extrapolated": subset_s / pairs * n * s,
        "sequential_timed_pairs": pairs,
        "batched_over_sequential": subset_s / pairs * n * s / batched_s,
        "max_abs_loss_diff_vs_sequential": (torch.tensor(losses) - reference).abs().max().item(),
        "batched_cpu_s": cpu_s,
        "gpu_over_cpu_batched": cpu_s / batched_s,
        "masked_pepper_gpu_s": masked_s,
        "masked_final_loss": masked.loss.mean().item(),
        "final_loss": batched.loss.mean().item(),
    }
    print(json.dumps(summary, indent=1), flush=True)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=150, help="training iterations per case and device")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="20 iterations, 5 warm-up (a smoke run)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("error: no CUDA device: experiments.bench.cuda runs on a GPU machine", file=sys.stderr)
        return 2
    iterations, warmup = (20, 5) if args.quick else (args.iterations, args.warmup)
    result = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "lightning": pl.__version__,
        "cpu_threads": torch.get_num_threads(),
        "iterations": iterations,
        "warmup": warmup,
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result["training"] = training(root, iterations, warmup)
        result["resume"] = resume(root, 12 if args.quick else 40, 5 if args.quick else 23)
        result["latent"] = latent(root, 50 if args.quick else 200, 8 if args.quick else 64, 4 if args.quick else 32)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "cuda.json").write_text(json.dumps(result, indent=2) + "\n")
    bad = [r["case"] for r in result["training"] if not (r["gpu"]["finite"] and r["cpu"]["finite"])]
    if bad:
        print(f"error: non-finite metrics in {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
