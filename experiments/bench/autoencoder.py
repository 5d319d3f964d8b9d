"""Benchmark of the kurtosis autoencoder (issue #7) on real MNIST, CPU.

1. Trains three autoencoders for ``--epochs`` epochs with the real ``ganlab-train`` (or reuses ``--ckpt NAME=FILE``),
   timing each run: ``kurtosis_ae`` (``experiment=mnist_kurtosis_ae``: the report's regulariser, moments pooled
   over all code entries), ``kurtosis_ae_per_dim`` (the same with ``model.z_pooling=per_dimension``) and
   ``plain_ae`` (``experiment=mnist_ae``: no regulariser, the control).
2. For each, on the 10 000 MNIST test images, encoder in eval mode: the pooled latent mean / variance / kurtosis and
   the KS statistic against N(0, 1) (the issue's targets: |mean| < 0.05, |var − 1| < 0.05, |kurt − 3| < 0.2); the
   per-dimension moments (worst and average deviation); the codes' correlations and the Fréchet distance of their
   Gaussian fit to N(0, I) (what sampling z ~ N(0, I) actually needs); the reconstruction MSE.
3. The decoders as generators (z ~ N(0, I)) beside ``mnist_dcgan``'s generator (``--gan-ckpt``, default: the newest
   ``outputs/train/mnist_dcgan`` run, trained now when there is none), all scored in this run with the same
   evaluator: classifier-FID / KID / IS, modes and mode KL on ``--n-samples`` samples vs as many test images (the
   same latents for every model), and a sharpness figure — the mean variance of the Laplacian per image — for the
   report's claim "the AE's samples are sharper than the GAN's"; real test images give its reference value.

    python -m experiments.bench.autoencoder [--epochs 20] [--ckpt kurtosis_ae=F ...] [--variants a,b]
                                            [--gan-ckpt F] [--n-samples 10000] [--data-root D]

Each autoencoder's decoder is also scored on z ~ N(μ, Σ), the Gaussian fit of its codes of 10 000 training images
(row "<name>, z ~ fit"): the control that tells whether N(0, I) samples fail because the codes are not N(0, I).

Writes experiments/bench/out/autoencoder.json, experiments/figures/ae_vs_dcgan_samples.png (rows: real, then per
autoencoder its N(0, I) and fitted-Gaussian samples, then DCGAN) and copies the kurtosis run's latent CDF and
curves to experiments/figures/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from experiments.bench.checkpoint import linked_data_root
from experiments.bench.models import (
    classifier_dir,
    ensure_classifier,
    ensure_gan_checkpoint,
    newest_run_checkpoint,
    train_preset,
)
from ganlab.composition.build import restore_checkpoint
from ganlab.metrics.evaluator import ImageEvaluator
from ganlab.moments import ks_normal, standardized_moments

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).parent / "out"
FIGURES = ROOT / "experiments" / "figures"
TARGETS = {"mean": (0.0, 0.05), "var": (1.0, 0.05), "kurtosis": (3.0, 0.2)}
#: The autoencoders compared: name → (experiment preset, extra overrides).
VARIANTS = {
    "kurtosis_ae": ("mnist_kurtosis_ae", []),
    "kurtosis_ae_per_dim": ("mnist_kurtosis_ae", ["model.z_pooling=per_dimension"]),
    "plain_ae": ("mnist_ae", []),
}
LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)


def train(name: str, epochs: int, data_root: Path) -> tuple[Path, float]:
    """(last.ckpt, wall seconds) of a real ``ganlab-train`` run of a variant."""
    preset, overrides = VARIANTS[name]
    out = OUT / "autoencoder_runs" / name
    seconds = train_preset([f"experiment={preset}", f"trainer.max_epochs={epochs}", *overrides], data_root, out)
    return newest_run_checkpoint(preset, out), seconds


@torch.no_grad()
def latent_report(module, datamodule) -> dict:
    """Moments and KS of the encoder's codes of the whole test split, and the reconstruction MSE."""
    codes, squared, pixels = [], 0.0, 0
    for x, _ in datamodule.eval_dataloader("test", batch_size=1000):
        z = module.encoder(x)
        codes.append(z.double())
        squared += float(F.mse_loss(module.decoder(z), x, reduction="sum"))
        pixels += x.numel()
    z = torch.cat(codes)
    mean, var, kurtosis = (float(v) for v in standardized_moments(z, "pooled"))
    per_dim = standardized_moments(z, "per_dimension")
    covariance = torch.cov(z.T)
    std = covariance.diagonal().sqrt()
    correlation = covariance / std[:, None] / std[None, :]
    off_diagonal = correlation[~torch.eye(len(std), dtype=torch.bool)]
    eigen = torch.linalg.eigvalsh(covariance).clamp_min(0)
    # Fréchet distance of N(mu, Sigma) (the codes' Gaussian fit) to N(0, I): |mu|^2 + tr(Sigma) + d - 2 tr(Sigma^1/2)
    frechet = float(z.mean(0).pow(2).sum() + eigen.sum() + len(eigen) - 2 * eigen.sqrt().sum())
    return {
        "n_images": z.shape[0],
        "mean": mean,
        "var": var,
        "kurtosis": kurtosis,
        "ks": ks_normal(z),
        "per_dimension": {
            "max_abs_mean": float(per_dim[0].abs().max()),
            "mean_abs_var_minus_1": float((per_dim[1] - 1).abs().mean()),
            "mean_abs_kurtosis_minus_3": float((per_dim[2] - 3).abs().mean()),
            "var_range": [float(per_dim[1].min()), float(per_dim[1].max())],
        },
        "mean_abs_correlation": float(off_diagonal.abs().mean()),
        "covariance_eigen_range": [float(eigen.min()), float(eigen.max())],
        "frechet_to_standard_normal": frechet,
        "targets_met": {
            k: abs(v - TARGETS[k][0]) < TARGETS[k][1] for k, v in (("mean", mean), ("var", var), ("kurtosis", kurtosis))
        },
        "reconstruction_mse": squared / pixels,
    }


def sharpness(images: torch.Tensor) -> float:
    """Mean over images of the variance of the Laplacian (images in [0, 1], per channel): blur lowers it."""
    unit = ((images.float() + 1) / 2).clamp(0, 1)
    c = unit.shape[1]
    response = F.conv2d(unit, LAPLACE.expand(c, 1, 3, 3), groups=c)
    return float(response.flatten(1).var(dim=1).mean())


def generator_report(sample, latent_dim: int, evaluator: ImageEvaluator, n_sharp: int = 2000):
    """(scores and sharpness of ``sample``: z ~ N(0, I) → images, 16 samples for the figure)."""
    scores = evaluator.evaluate(sample, latent_dim)
    with torch.no_grad():
        samples = sample(torch.randn(n_sharp, latent_dim, generator=torch.Generator().manual_seed(7)))
    scores = {k: v for k, v in scores.items() if k != "provenance"}
    return {**scores, "sharpness": sharpness(samples)}, samples[:16]


@torch.no_grad()
def fitted_gaussian(module, datamodule, n_images: int = 10_000):
    """z ↦ μ + L z with N(μ, LLᵀ) the Gaussian fit of the encoder's codes of training images: decoding it tells
    whether the decoder fails on N(0, I) because the codes are not N(0, I) jointly (correlated, shifted)."""
    codes = torch.cat([module.encoder(x) for x, _ in datamodule.eval_dataloader("train", 1000, limit=n_images)])
    codes = codes.double()
    covariance = torch.cov(codes.T) + 1e-6 * torch.eye(codes.shape[1], dtype=torch.float64)
    mean, factor = codes.mean(0), torch.linalg.cholesky(covariance)
    return lambda z: module.sample(z=(mean + z.double() @ factor.T).float())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--ckpt", action="append", default=[], help="NAME=FILE: reuse a trained variant's last.ckpt")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"a subset of {', '.join(VARIANTS)}")
    parser.add_argument(
        "--gan-ckpt", help="default: $GANLAB_LATENT_CKPT, the newest mnist_dcgan run, or one trained now"
    )
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument(
        "--data-root", default=os.environ.get("GANLAB_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    result: dict = {"epochs": args.epochs, "n_samples": args.n_samples, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data_root = linked_data_root(Path(args.data_root), Path(tmp))
        ensure_classifier(data_root)
        gan_ckpt = args.gan_ckpt or ensure_gan_checkpoint(data_root)
        given = dict(item.split("=", 1) for item in args.ckpt)
        ckpts = {}
        for name in args.variants.split(","):
            if name not in VARIANTS:
                raise SystemExit(
                    f"autoencoder benchmark: variant {name!r} is not known; accepted: {', '.join(VARIANTS)}"
                )
            if name in given:
                ckpts[name], seconds = Path(given[name]), None
            else:
                ckpts[name], seconds = train(name, args.epochs, data_root)
            result["runs"][name] = {"ckpt": str(ckpts[name]), "train_s": seconds, "overrides": VARIANTS[name]}
        ckpts["mnist_dcgan"] = Path(gan_ckpt)
        result["runs"]["mnist_dcgan"] = {"ckpt": str(gan_ckpt)}

        rows, grids = {}, []
        real = None
        for name, ckpt in ckpts.items():
            datamodule, module = restore_checkpoint(ckpt, data_root)
            evaluator = ImageEvaluator(
                datamodule, extractor="classifier", n_samples=args.n_samples, classifier_dir=classifier_dir(),
                cache_dir=classifier_dir() / "stats",
            )  # fmt: skip
            if real is None:
                real = datamodule.eval_batch("test", 2000, seed=7)[0]
                rows["real test images"] = {"sharpness": sharpness(real)}
                grids.append(real[:16])
            row, samples = generator_report(lambda z, m=module: m.sample(z=z), module.latent_dim, evaluator)
            grids.append(samples)
            if hasattr(module, "encoder"):
                row["latent"] = latent_report(module, datamodule)
                fitted, fitted_samples = generator_report(
                    fitted_gaussian(module, datamodule), module.latent_dim, evaluator
                )
                rows[f"{name}, z ~ fit"] = fitted
                grids.append(fitted_samples)
            rows[name] = row
    result["models"] = rows
    (OUT / "autoencoder.json").write_text(json.dumps(result, indent=2) + "\n")
    save_figures(grids, Path(result["runs"][next(iter(result["runs"]))]["ckpt"]))
    report(result)


def save_figures(grids: list[torch.Tensor], ae_ckpt: Path) -> None:
    from torchvision.utils import save_image

    FIGURES.mkdir(parents=True, exist_ok=True)
    save_image(torch.cat(grids), FIGURES / "ae_vs_dcgan_samples.png", nrow=16, normalize=True, value_range=(-1, 1))
    run_dir = ae_ckpt.parent.parent
    for source, target in (("samples/latent_cdf.png", "mnist_kurtosis_ae_latent_cdf.png"),
                           ("curves.png", "mnist_kurtosis_ae_curves.png")):  # fmt: skip
        if (run_dir / source).is_file():
            shutil.copy(run_dir / source, FIGURES / target)


def report(result: dict) -> None:
    models = result["models"]
    for name, run in result["runs"].items():
        if run.get("train_s"):
            print(f"{name}: trained {result['epochs']} epochs in {run['train_s']:.0f} s")
    print(f"{'model':28s} {'clf-FID':>8s} {'clf-KID':>8s} {'clf-IS':>7s} {'modes':>5s} {'KL':>6s} {'sharp':>7s}")
    base = models["mnist_dcgan"]
    for name, row in models.items():
        if "classifier_fid" not in row:
            print(f"{name:28s} {'':>8s} {'':>8s} {'':>7s} {'':>5s} {'':>6s} {row['sharpness']:7.4f}")
            continue
        print(
            f"{name:28s} {row['classifier_fid']:8.2f} {row['classifier_kid']:8.4f} {row['classifier_is']:7.2f} "
            f"{row['modes']:5d} {row['mode_kl']:6.3f} {row['sharpness']:7.4f}"
            + (f"   FID ×{row['classifier_fid'] / base['classifier_fid']:.2f} of DCGAN's" if row is not base else "")
        )
    for name, row in models.items():
        if "latent" not in row:
            continue
        lat, dim = row["latent"], row["latent"]["per_dimension"]
        met = ", ".join(f"{k} {'ok' if ok else 'MISSED'}" for k, ok in lat["targets_met"].items())
        print(
            f"{name}: z mean {lat['mean']:+.4f} var {lat['var']:.4f} kurtosis {lat['kurtosis']:.3f} KS {lat['ks']:.4f} "
            f"({met}); per dimension: max|mean| {dim['max_abs_mean']:.3f}, var {dim['var_range'][0]:.3f}..."
            f"{dim['var_range'][1]:.3f}, mean|kurt-3| {dim['mean_abs_kurtosis_minus_3']:.3f}; mean|corr| "
            f"{lat['mean_abs_correlation']:.3f}; Frechet to N(0, I) {lat['frechet_to_standard_normal']:.2f}; "
            f"reconstruction MSE {lat['reconstruction_mse']:.4f}"
        )


if __name__ == "__main__":
    main()
