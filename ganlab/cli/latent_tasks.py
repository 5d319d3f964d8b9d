"""The tasks of ``ganlab-latent`` (``ganlab/cli/latent.py`` parses and checks the settings, then calls these):
rebuild the generator from a checkpoint and run one tool of ``ganlab.latent``, writing figures into ``out``."""

from __future__ import annotations

import math  # noqa: F401
import sys
import time
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import Tensor
from torchvision.utils import make_grid, save_image

from ganlab.common.errors import ConfigError
from ganlab.common.options import ENDPOINTS
from ganlab.latent import (
    ALPHAS,
    apply_mask,
    arithmetic,
    interpolate,
    invert,
    load_mask,
    make_mask,
    masked_mse,
    truncate,
)


# --------------------------------------------------------------------------- shared pieces
def load_generator(cfg: DictConfig):
    """(datamodule, module) of the checkpoint, G frozen in eval mode; ConfigError for anything but an image GAN."""
    from ganlab.composition.build import restore_checkpoint

    datamodule, module = restore_checkpoint(cfg.ckpt, cfg.data_root)
    shape = tuple(getattr(datamodule, "sample_shape", ()))
    if not hasattr(module, "generator") or len(shape) != 3 or not hasattr(datamodule, "eval_batch"):
        data = getattr(datamodule, "name", type(datamodule).__name__)
        raise ConfigError(
            f"ckpt={cfg.ckpt} is not an image generator's checkpoint (data={data}, samples of shape {list(shape)}); "
            "accepted: an image GAN's or autoencoder's checkpoint"
        )
    if getattr(module.eval_generator, "num_classes", None):
        raise ConfigError(f"ckpt={cfg.ckpt} holds a conditional generator; accepted: an unconditional image GAN's")
    module.eval_generator.eval().requires_grad_(False)
    return datamodule, module


def run_inversion(module, targets: Tensor, cfg: DictConfig, mask: Tensor | None = None):
    return invert(
        module.eval_generator,
        targets,
        module.latent_dim,
        restarts=cfg.restarts,
        iterations=cfg.iterations,
        lr=cfg.lr,
        optimizer=cfg.optimizer,
        momentum=cfg.momentum,
        prior_weight=cfg.prior_weight,
        mask=mask,
        seed=cfg.seed,
    )


def check_endpoints(module, cfg: DictConfig) -> None:
    """``endpoints`` is known and, when ``encoder``, the checkpoint has one (checked before any task runs)."""
    if cfg.endpoints not in ENDPOINTS:
        raise ConfigError(f"endpoints={cfg.endpoints} is not known; accepted: {', '.join(ENDPOINTS)}")
    if cfg.endpoints == "encoder" and not hasattr(module, "encode"):
        raise ConfigError(f"endpoints=encoder: ckpt={cfg.ckpt} has no encoder; accepted: inversion, auto")


def image_latents(module, images: Tensor, cfg: DictConfig) -> tuple[Tensor, str]:
    """(latents of real images, how they were found): the model's encoder when it has one (an autoencoder: the
    course report's AE interpolation) and ``endpoints`` allows it, else GAN inversion."""
    if hasattr(module, "encode") and cfg.endpoints != "inversion":
        with torch.no_grad():
            return module.eval().encode(images.to(module.device)), "encoder"
    return run_inversion(module, images, cfg).z, "inversion"


def to_unit(images: Tensor) -> Tensor:
    return ((images.detach().cpu() + 1) / 2).clamp(0, 1)


def save_rows(rows: list[Tensor], path: Path) -> None:
    """One row of images per tensor (all rows the same length)."""
    save_image(make_grid(to_unit(torch.cat(rows)), nrow=rows[0].shape[0], padding=2, pad_value=1.0), path)


def plot_curves(curves: Tensor, path: Path, n_images: int = 4) -> None:
    """The course report's figure: the loss of every restart over the iterations, one panel per image."""
    from matplotlib.figure import Figure  # no pyplot: the process's backend (a notebook's inline) is left alone

    n = min(n_images, curves.shape[1])
    fig = Figure(figsize=(3.2 * n, 2.8))
    axes = fig.subplots(1, n, squeeze=False)
    for i, ax in enumerate(axes[0]):
        for s in range(curves.shape[2]):
            ax.plot(curves[:, i, s].numpy(), label=f"start {s}")
        ax.set(yscale="log", xlabel="iteration", title=f"image {i}")
    axes[0][0].set_ylabel("MSE(G(z), x)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------------- tasks
def task_invert(cfg, datamodule, module, out: Path) -> dict:
    targets, labels = datamodule.eval_batch(cfg.split, cfg.n_images, cfg.seed)
    inv = run_inversion(module, targets, cfg)
    with torch.no_grad():
        recon = module.eval_generator(inv.z)
    plot_curves(inv.curves, out / "curves.png")
    save_rows([targets[:8], recon[:8]], out / "reconstructions.png")
    torch.save({"z": inv.z, "labels": labels, "loss": inv.loss}, out / "latents.pt")
    helped = (inv.loss < inv.restart_loss[:, 0]).float().mean().item()
    return {
        "mse_mean": inv.loss.mean().item(),
        "mse": inv.loss.tolist(),
        "best_restart": inv.best.tolist(),
        "restart_mse": inv.restart_loss.tolist(),
        "best_of_s_helped_share": helped,
        "figures": ["curves.png", "reconstructions.png"],
    }


def task_inpaint(cfg, datamodule, module, out: Path) -> dict:
    targets, _ = datamodule.eval_batch(cfg.split, cfg.n_images, cfg.seed)
    n, _, height, width = targets.shape
    if cfg.mask_file:
        masks = {"file": load_mask(cfg.mask_file, targets.shape).expand(n, 1, height, width)}
    else:
        options = {"pepper": {"fraction": cfg.pepper_fraction}, "square": {"size": cfg.square_size}, "crosswalk": {}}
        masks = {}
        for kind in cfg.masks:
            if kind not in options:
                raise ConfigError(f"masks={kind} is not a known mask; accepted: pepper, crosswalk, square or mask_file")
            masks[kind] = make_mask(kind, n, height, width, seed=cfg.seed, **options[kind])
    result = {}
    for name, mask in masks.items():
        masked = apply_mask(targets, mask)
        inv = run_inversion(module, masked, cfg, mask=mask)
        with torch.no_grad():
            restored = module.eval_generator(inv.z)
        missing = masked_mse(restored, targets, 1 - mask)
        result[name] = {
            "missing_fraction": (1 - mask).mean().item(),
            "masked_region_mse": missing.mean().item(),
            "masked_region_mse_std": missing.std().item() if n > 1 else 0.0,
            "observed_mse": inv.loss.mean().item(),
        }
        save_rows([masked[:8], restored[:8], targets[:8]], out / f"inpaint_{name}.png")
    return {"masks": result, "figures": [f"inpaint_{name}.png" for name in masks]}


def task_interpolate(cfg, datamodule, module, out: Path) -> dict:
    generator = torch.Generator().manual_seed(cfg.seed)
    if cfg.source == "images":
        targets, labels = datamodule.eval_batch(cfg.split, 2 * cfg.pairs, cfg.seed)
        latents, method = image_latents(module, targets, cfg)
        ends = latents.view(cfg.pairs, 2, -1)
        described = [f"{int(labels[2 * i])} → {int(labels[2 * i + 1])}" for i in range(cfg.pairs)]
    elif cfg.source == "random":
        ends, method = module.draw_latent(2 * cfg.pairs, generator).view(cfg.pairs, 2, -1), "random"
        described = [f"random pair {i}" for i in range(cfg.pairs)]
    else:
        raise ConfigError(f"source={cfg.source} is not known; accepted: random, images")
    alphas = [float(a) for a in cfg.alphas] or list(ALPHAS)
    rows = []
    with torch.no_grad():
        for z1, z2 in ends:
            rows.append(module.eval_generator(interpolate(z1, z2, alphas, cfg.mode)))
    save_rows(rows, out / "interpolation.png")
    figures = ["interpolation.png"]
    return {"alphas": alphas, "mode": cfg.mode, "pairs": described, "endpoints": method, "figures": figures}


def task_arithmetic(cfg, datamodule, module, out: Path) -> dict:
    if len(cfg.groups) != 3:
        raise ConfigError(f"groups={list(cfg.groups)} needs three labels a, b, c (a − b + c); accepted: [a, b, c]")
    pool, labels = datamodule.eval_batch(cfg.split, max(cfg.n_images, 40 * cfg.group_size), cfg.seed)
    chosen = []
    for label in cfg.groups:
        index = torch.nonzero(labels == int(label)).flatten()[: cfg.group_size]
        if len(index) == 0:
            raise ConfigError(f"groups: no image labelled {label} in the {cfg.split} split; accepted: its labels")
        chosen.append(index)
    found, method = image_latents(module, pool[torch.cat(chosen)], cfg)
    latents = torch.split(found, [len(i) for i in chosen])
    z = arithmetic(*latents)
    with torch.no_grad():
        means = module.eval_generator(torch.stack([lat.mean(0) for lat in latents] + [z]))
    save_rows([means], out / "arithmetic.png")
    sizes = [len(i) for i in chosen]
    return {"groups": list(cfg.groups), "group_sizes": sizes, "latents": method, "figures": ["arithmetic.png"]}


def task_truncate(cfg, datamodule, module, out: Path) -> dict:
    from ganlab.metrics.evaluator import ImageEvaluator

    evaluator = None
    try:
        evaluator = ImageEvaluator(
            datamodule, metrics=["fid", "is", "modes"], extractor="classifier", n_samples=cfg.n_samples,
            split=cfg.split, seed=cfg.seed, classifier_dir=cfg.classifier_dir, cache_dir=cfg.cache_dir,
        )  # fmt: skip
        evaluator.build_extractors()
    except ConfigError as exc:
        print(f"[ganlab-latent] no classifier metrics: {exc}", file=sys.stderr)
        evaluator = None
    scores, rows = {}, []
    thresholds = [float(str(t).replace(".inf", "inf")) for t in cfg.thresholds]  # YAML's .inf, or inf
    for threshold in thresholds:
        generator = torch.Generator().manual_seed(cfg.seed)

        def sample(z, threshold=threshold, generator=generator):
            return module.eval_generator(truncate(z, threshold, generator).to(module.device))

        with torch.no_grad():
            rows.append(sample(torch.randn(8, module.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))))
        if evaluator is not None:
            scores[str(threshold)] = evaluator.evaluate(sample, module.latent_dim)
    save_rows(rows, out / "truncation.png")
    return {"thresholds": [str(t) for t in thresholds], "scores": scores, "figures": ["truncation.png"]}


def output_dir(ckpt: str, task: str) -> Path:
    """A fresh ``latent/<task>-<time>[-n]/`` beside the checkpoint."""
    root = Path(ckpt).resolve().parent / "latent"
    stem = f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = root / stem, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stem}-{n}"
    return candidate
