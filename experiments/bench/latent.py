"""Benchmark of the latent toolkit (issue #6): GAN inversion and inpainting with a trained MNIST generator.

Method (the generator is frozen, in eval mode; gradients flow to z only; 2 CPU threads):
1. Batched vs sequential inversion: N real test images, S restarts, the same starting latents ``z0`` (N, S, d)
   from one seed and the same optimizer. Batched = one ``invert`` call optimising all N·S latents together;
   sequential = the course report's way, a Python loop over images and restarts calling ``invert`` with
   ``restarts=1, z_init=z0[n:n+1, s:s+1]``. The sequential loop is timed on a random subset of K (image, restart)
   pairs and extrapolated (per-inversion time × N·S); its K final losses are compared with the batched ones.
2. Restoration per mask (pepper 30 %, crosswalk every second row, square 8×8): invert on the observed pixels only
   (``mask=…``), keep the best of S restarts, and measure the MSE of G(z) against the original image on the
   missing pixels (the restoration) and on all pixels; also the report's way (the blackened image inverted as if
   it were complete, ``mask=None``).
3. Best of S vs a single start, on the N unmasked images of part 1's batched inversion: the share of images
   whose best restart ends below restart 0, and the mean relative improvement (1 - best / restart 0).
4. Figures: loss curves of the S restarts for 4 images of part 1 (log y),
   masked | restored | original rows for 6 images per mask.

    python -m experiments.bench.latent [--ckpt F] [--data-root D] [--quick] [--images M] [--iterations T] [--pairs K]

Full settings: N = 64, M = 256 images for the masks, T = 200 SGD steps (lr 3.0, momentum 0.9), K = 32 timed pairs.

Writes experiments/bench/out/latent.json, latent_curves.png and latent_inpaint.png. MNIST comes from
``--data-root``, ``$GANLAB_DATA_DIR`` or ../shared/data (the .gz files are linked into a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

import torch
from torch import Tensor

from experiments.bench.checkpoint import linked_data_root
from experiments.bench.models import ensure_gan_checkpoint
from ganlab.composition.build import restore_checkpoint
from ganlab.latent.inversion import invert, masked_mse
from ganlab.latent.masks import MASKS, apply_mask, make_mask

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).parent / "out"
FULL = dict(n_speed=64, n_images=256, iterations=200, sequential=32)  # overridable from the command line
QUICK = dict(n_speed=8, n_images=64, iterations=50, sequential=8)
RESTARTS = 5
OPTIM = dict(optimizer="sgd", lr=3.0, momentum=0.9)  # converges for this generator (Adam lr 0.05 is close)


def load_generator(ckpt: str, data_root: Path):
    datamodule, module = restore_checkpoint(ckpt, data_root)
    module.generator.requires_grad_(False)
    return datamodule, module


def batched_vs_sequential(generate, images: Tensor, latent_dim: int, iterations: int, k: int):
    """(timings and loss agreement, the batched Inversion)."""
    n, s = images.shape[0], RESTARTS
    z0 = torch.randn(n, s, latent_dim, generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    batched = invert(generate, images, latent_dim, restarts=s, iterations=iterations, z_init=z0, **OPTIM)
    batched_s = time.perf_counter() - start
    pairs = random.Random(0).sample([(i, j) for i in range(n) for j in range(s)], k)
    losses = []
    start = time.perf_counter()
    for i, j in pairs:
        one = invert(
            generate,
            images[i : i + 1],
            latent_dim,
            restarts=1,
            iterations=iterations,
            z_init=z0[i : i + 1, j : j + 1],
            **OPTIM,
        )
        losses.append(one.loss.item())
    subset_s = time.perf_counter() - start
    sequential_s = subset_s / k * n * s
    reference = torch.tensor([batched.restart_loss[i, j].item() for i, j in pairs])
    summary = {
        "images": n,
        "restarts": s,
        "iterations": iterations,
        **OPTIM,
        "batched_s": batched_s,
        "sequential_timed_pairs": k,
        "sequential_subset_s": subset_s,
        "sequential_s_extrapolated": sequential_s,
        "speedup": sequential_s / batched_s,
        "max_abs_loss_diff": (torch.tensor(losses) - reference).abs().max().item(),
        "mean_final_loss_best": batched.loss.mean().item(),
    }
    return summary, batched


def mean_sd(values: Tensor) -> dict:
    return {"mean": values.mean().item(), "sd": values.std().item()}


def restoration(generate, images: Tensor, latent_dim: int, iterations: int) -> tuple[dict, dict]:
    """Per mask: MSE on missing / all pixels for the masked inversion and the report's (unmasked) way."""
    n, _, height, width = images.shape
    results, restored = {}, {}
    for kind in MASKS:
        mask = make_mask(kind, n, height, width, seed=0)
        masked = apply_mask(images, mask)
        row = {"missing_fraction": 1.0 - mask.mean().item()}
        for way, inv_mask in (("masked", mask), ("as_complete", None)):
            inv = invert(
                generate, masked, latent_dim, restarts=RESTARTS, iterations=iterations, mask=inv_mask, seed=1, **OPTIM
            )
            with torch.no_grad():
                out = generate(inv.z)
            row[way] = {
                "missing": mean_sd(masked_mse(out, images, 1.0 - mask)),
                "all": mean_sd(masked_mse(out, images)),
            }
            if way == "masked":
                restored[kind] = (masked, out)
        results[kind] = row
    for way in ("masked", "as_complete"):
        order = sorted(MASKS, key=lambda kind: results[kind][way]["missing"]["mean"])
        results[f"ranking_{way}"] = order  # best (lowest MSE on the missing pixels) first
    return results, restored


def best_of_restarts(inv) -> dict:
    """Best of S vs restart 0 alone, from an unmasked inversion."""
    first = inv.restart_loss[:, 0]
    summary = {
        "share_best_below_restart0": (inv.loss < first).float().mean().item(),
        "mean_relative_improvement": (1.0 - inv.loss / first).mean().item(),
        "mean_loss_best": inv.loss.mean().item(),
        "mean_loss_restart0": first.mean().item(),
    }
    return summary


def save_curves(inv, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2), sharey=True)
    for idx, ax in enumerate(axes):
        for j in range(inv.restarts):
            style = "-" if j == inv.best[idx].item() else "--"
            ax.plot(inv.curves[:, idx, j].numpy(), style, label=f"restart {j}")
        ax.set_yscale("log")
        ax.set_title(f"image {idx}")
        ax.set_xlabel("iteration")
    axes[0].set_ylabel("MSE")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_inpaint(images: Tensor, restored: dict, path: Path, n: int = 6) -> None:
    from torchvision.utils import save_image

    rows = []
    for kind in MASKS:
        masked, out = restored[kind]
        rows += [masked[:n], out[:n], images[:n]]
    save_image(torch.cat(rows), path, nrow=n, normalize=True, value_range=(-1, 1), padding=2)


def run(ckpt: str, data_root: Path, quick: bool, overrides: dict) -> dict:
    settings = {**(QUICK if quick else FULL), **{k: v for k, v in overrides.items() if v is not None}}
    torch.set_num_threads(2)
    datamodule, module = load_generator(ckpt, data_root)
    generate = module.generator
    d = module.latent_dim
    images = datamodule.eval_batch("test", settings["n_images"], seed=0)[0]
    start = time.perf_counter()
    speed, inv = batched_vs_sequential(
        generate, images[: settings["n_speed"]], d, settings["iterations"], settings["sequential"]
    )
    masks, restored = restoration(generate, images, d, settings["iterations"])
    best = best_of_restarts(inv)  # on the N unmasked images of part 1
    OUT.mkdir(parents=True, exist_ok=True)
    save_curves(inv, OUT / "latent_curves.png")
    save_inpaint(images, restored, OUT / "latent_inpaint.png")
    return {
        "ckpt": ckpt,
        "quick": quick,
        "settings": settings,
        "speed": speed,
        "restoration": masks,
        "best_of_restarts": best,
        "wall_s": time.perf_counter() - start,
    }


def report(result: dict) -> None:
    sp = result["speed"]
    print(
        f"inversion ({sp['optimizer']} lr {sp['lr']} momentum {sp['momentum']}, {sp['iterations']} it, "
        f"{sp['images']} images x {sp['restarts']} restarts):"
    )
    print(
        f"  batched {sp['batched_s']:.1f} s | sequential {sp['sequential_s_extrapolated']:.1f} s "
        f"(extrapolated from {sp['sequential_timed_pairs']} pairs, {sp['sequential_subset_s']:.1f} s) "
        f"| speed-up {sp['speedup']:.1f}x | max |loss diff| {sp['max_abs_loss_diff']:.2e}"
    )
    for kind in MASKS:
        row = result["restoration"][kind]
        parts = [
            f"{way}: missing {row[way]['missing']['mean']:.4f}±{row[way]['missing']['sd']:.4f}, "
            f"all {row[way]['all']['mean']:.4f}±{row[way]['all']['sd']:.4f}"
            for way in ("masked", "as_complete")
        ]
        print(f"  {kind:9s} ({row['missing_fraction']:.0%} missing) " + " | ".join(parts))
    res = result["restoration"]
    print(f"  ranking (best first): masked {res['ranking_masked']}, as complete {res['ranking_as_complete']}")
    b = result["best_of_restarts"]
    print(
        f"best of {RESTARTS} < restart 0 on {b['share_best_below_restart0']:.0%} of images, mean relative "
        f"improvement {b['mean_relative_improvement']:.1%} ({b['mean_loss_restart0']:.4f} -> {b['mean_loss_best']:.4f})"
    )
    print(f"wall {result['wall_s']:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ckpt", default=None, help="default: $GANLAB_LATENT_CKPT, the newest mnist_dcgan run, or one trained now"
    )
    parser.add_argument(
        "--data-root", default=os.environ.get("GANLAB_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    )
    parser.add_argument("--quick", action="store_true", help="N=8, 64 images, 50 iterations (smoke test)")
    parser.add_argument("--images", type=int, dest="n_images", help="images for the mask study (full: 256)")
    parser.add_argument("--iterations", type=int, help="optimizer steps per inversion (full: 200)")
    parser.add_argument("--pairs", type=int, dest="sequential", help="(image, restart) pairs timed sequentially")
    args = parser.parse_args(argv)
    overrides = {"n_images": args.n_images, "iterations": args.iterations, "sequential": args.sequential}
    with tempfile.TemporaryDirectory() as tmp:
        data_root = linked_data_root(Path(args.data_root), Path(tmp))
        result = run(args.ckpt or str(ensure_gan_checkpoint(data_root)), data_root, args.quick, overrides)
    report(result)
    name = "latent_quick.json" if args.quick else "latent.json"
    (OUT / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
