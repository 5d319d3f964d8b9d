"""Do the metrics see what they should? Heusel et al.'s (2017, Fig. 1 / App. A) disturbance experiment on real
MNIST, with the domain classifier's features (lecture 003 shows it on CelebA).

    python -m experiments.bench.disturbance [--n 10000] [--out experiments/figures/disturbance.png]

The "generated" set is ``--n`` MNIST training images, disturbed at increasing levels; the reference is ``--n`` test
images. Per disturbance and level: FID, KID, IS, precision, recall, density, coverage (ganlab's suite, one feature
pass). Disturbances (each level a strength in [0, 1]; images in [-1, 1]):

- ``noise``: x + σ·N(0, 1) with σ = 2·level, clipped;
- ``blur``: a Gaussian blur with σ = 3·level pixels;
- ``salt_pepper``: a share 0.5·level of the pixels set to ±1 at random;
- ``rectangles``: 1 + 8·level black/white rectangles of 3–8 pixels drawn at random positions;
- ``mixing``: a share ``level`` of the images replaced by Fashion-MNIST images (another dataset).

The check the paper makes: FID must rise with every disturbance's level (Spearman ρ = 1 over the levels); the
table says where the other metrics do not move monotonically. Randomness is seeded; the figure has one panel per
metric. Needs MNIST (``GANLAB_DATA_DIR``), Fashion-MNIST for ``mixing``, and the MNIST classifier
(``GANLAB_CLASSIFIER_DIR``).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

LEVELS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
DISTURBANCES = ("noise", "blur", "salt_pepper", "rectangles", "mixing")
METRICS = ("fid", "kid", "is", "precision", "recall", "density", "coverage")


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-(t**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.conv2d(
        F.pad(x, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c
    )
    return F.conv2d(
        F.pad(x, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c
    )


def disturb(name: str, x: Tensor, level: float, g: torch.Generator, other: Tensor | None = None) -> Tensor:
    """``x`` (N, C, H, W) in [-1, 1] disturbed by ``name`` at ``level`` in [0, 1]."""
    if level == 0:
        return x.clone()
    if name == "noise":
        return (x + 2 * level * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    if name == "blur":
        return gaussian_blur(x, 3 * level)
    if name == "salt_pepper":
        hit = torch.rand(x.shape, generator=g) < 0.5 * level
        value = torch.where(torch.rand(x.shape, generator=g) < 0.5, -1.0, 1.0)
        return torch.where(hit, value, x)
    if name == "rectangles":
        out = x.clone()
        n, _, h, w = x.shape
        for _ in range(1 + round(8 * level)):
            size = torch.randint(3, 9, (n, 2), generator=g)
            top = (torch.rand(n, generator=g) * (h - size[:, 0] + 1)).long()
            left = (torch.rand(n, generator=g) * (w - size[:, 1] + 1)).long()
            colour = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
            rows, cols = torch.arange(h)[None], torch.arange(w)[None]
            inside_r = (rows >= top[:, None]) & (rows < (top + size[:, 0])[:, None])
            inside_c = (cols >= left[:, None]) & (cols < (left + size[:, 1])[:, None])
            mask = (inside_r[:, :, None] & inside_c[:, None, :])[:, None]
            out = torch.where(mask, colour.view(n, 1, 1, 1), out)
        return out
    if name == "mixing":
        replace = torch.rand(x.shape[0], generator=g) < level
        return torch.where(replace.view(-1, 1, 1, 1), other[: x.shape[0]], x)
    raise ValueError(f"disturbance={name}; accepted: {', '.join(DISTURBANCES)}")


def spearman(values: list[float]) -> float:
    """Rank correlation of ``values`` with their level order (ties in the values get average ranks)."""
    n = len(values)
    order = sorted(range(n), key=lambda i: values[i])
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and values[order[j + 1]] == values[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2
        i = j + 1
    mean = (n - 1) / 2
    num = sum((r - mean) * (k - mean) for k, r in enumerate(ranks))
    den = math.sqrt(sum((r - mean) ** 2 for r in ranks) * sum((k - mean) ** 2 for k in range(n)))
    return num / den if den else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="images per side")
    parser.add_argument("--levels", default=",".join(str(v) for v in LEVELS))
    parser.add_argument("--disturbances", default=",".join(DISTURBANCES))
    parser.add_argument("--out", default="experiments/figures/disturbance.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from ganlab.data import FashionMNISTDataModule, MNISTDataModule
    from ganlab.metrics.extractors import build_extractor
    from ganlab.metrics.image_metrics import ImageMetricSuite, compute_real_stats

    root = os.environ.get("GANLAB_DATA_DIR", "data")
    mnist = MNISTDataModule(root=root, download=False)
    extractor = build_extractor("classifier", mnist, os.environ.get("GANLAB_CLASSIFIER_DIR", "classifiers")).eval()
    levels = [float(v) for v in args.levels.split(",")]
    names = args.disturbances.split(",")
    reference = compute_real_stats(extractor, mnist.eval_dataloader("test", 500, limit=args.n), True, 10)
    train, _ = mnist.eval_batch("train", args.n, seed=args.seed)
    other = None
    if "mixing" in names:
        other, _ = FashionMNISTDataModule(root=root, download=False).eval_batch("train", args.n, seed=args.seed)
    results: dict[str, dict[str, list[float]]] = {}
    for name in names:
        results[name] = {m: [] for m in METRICS}
        for level in levels:
            g = torch.Generator().manual_seed(args.seed)
            images = disturb(name, train, level, g, other)
            suite = ImageMetricSuite(extractor, ("fid", "kid", "is", "prdc"), kid_subset_size=1000)
            suite.load_real(reference)
            torch.manual_seed(args.seed)  # KID subsets, IS splits
            for batch in images.split(500):
                suite.update_fake(batch)
            out = suite.compute()
            for m in METRICS:
                results[name][m].append(out[m])
            print(f"{name:12s} level {level:4.2f}: " + "  ".join(f"{m} {out[m]:.4g}" for m in METRICS), flush=True)
    print_table(results, levels)
    plot(results, levels, Path(args.out))


def print_table(results: dict, levels: list[float]) -> None:
    print(f"\nSpearman ρ of each metric with the disturbance level ({len(levels)} levels: {levels}); FID should be +1")
    print("| disturbance | " + " | ".join(METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for name, per_metric in results.items():
        print(f"| {name} | " + " | ".join(f"{spearman(per_metric[m]):+.2f}" for m in METRICS) + " |")
    print("\nValues per level:")
    for name, per_metric in results.items():
        for m in METRICS:
            print(f"{name:12s} {m:10s} " + " ".join(f"{v:10.4g}" for v in per_metric[m]))


def plot(results: dict, levels: list[float], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 3.0))
    for ax, m in zip(axes, METRICS, strict=True):
        for name, per_metric in results.items():
            ax.plot(levels, per_metric[m], marker="o", label=name)
        ax.set_title(m)
        ax.set_xlabel("disturbance level")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"figure: {out}")


if __name__ == "__main__":
    main()
