"""``ganlab-eval ckpt=<file> metrics=[fid,kid,is,modes] n_samples=…``: scores the checkpoint of any experiment.

Image GANs: FID / KID / IS (classifier or Inception features), modes and KL by the domain classifier, the
discriminator feature probe (``probe``); 2-D mixtures: mode coverage; classifiers: test accuracy. Writes
``<ckpt dir>/eval/<ckpt name>-<time>.json`` (never an earlier file) and a sample grid beside it.
"""

from __future__ import annotations

import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganlab.cli.shared import compose_entry, run_entry
from ganlab.common.errors import ConfigError
from ganlab.common.validators import SEED, SPLIT, Rule, int_in, one_of, subset_of
from ganlab.composition.build import load_checkpoint, restore

EVAL_CONFIG = "eval"
EVAL_METRICS = ("fid", "kid", "is", "modes", "prdc", "intra_fid", "probe", "reconstruction", "d_overfit")
OWN_PASS = ("probe", "reconstruction", "intra_fid", "d_overfit")  # metrics outside the one-pass feature suite
EVAL_KEYS = (
    "metrics",
    "extractor",
    "n_samples",
    "n_real",
    "split",
    "batch_size",
    "seed",
    "classifier",
    "classifier_dir",
    "cache_dir",
    "inception_weights",
    "antialias",
    "kid_subsets",
    "kid_subset_size",
)


EVAL_RULES = (
    Rule("metrics", subset_of(*EVAL_METRICS), f"a non-empty list of {', '.join(EVAL_METRICS)}"),
    Rule("extractor", one_of("classifier", "inception"), "classifier, inception"),
    Rule("n_samples", int_in(2), "an integer >= 2"),
    Rule("n_real", lambda v: v is None or int_in(2)(v), "null or an integer >= 2"),
    Rule("batch_size", int_in(1), "an integer >= 1"),
    SEED,
    SPLIT,
    Rule("kid_subsets", int_in(1), "an integer >= 1"),
    Rule("kid_subset_size", int_in(2), "an integer >= 2"),
    Rule("probe_train", int_in(2), "an integer >= 2"),
    Rule("probe_test", int_in(1), "an integer >= 1"),
    Rule("grid", int_in(0), "an integer >= 0 (0: no grid)"),
    Rule("recon_images", int_in(1), "an integer >= 1"),
    Rule("recon_restarts", int_in(1), "an integer >= 1"),
    Rule("recon_iterations", int_in(1), "an integer >= 1"),
    Rule("d_images", int_in(1), "an integer >= 1"),
    Rule("antialias", lambda v: isinstance(v, bool), "true, false"),
)


def _extractor_installed(cfg: DictConfig) -> None:
    if cfg.extractor == "inception":
        from ganlab.preflight.extras import require

        require("inception", "extractor=inception", "extractor=classifier")


def compose_eval(argv: list[str]) -> DictConfig:
    cfg = compose_entry(EVAL_CONFIG, argv, EVAL_RULES, check=_extractor_installed)
    n_real = cfg.n_real if cfg.n_real is not None else cfg.n_samples
    if "kid" in cfg.metrics and cfg.kid_subset_size > min(cfg.n_samples, n_real):
        raise ConfigError(
            f"kid_subset_size={cfg.kid_subset_size} exceeds the samples (n_samples={cfg.n_samples}, "
            f"n_real={n_real}); accepted: kid_subset_size <= both"
        )
    return cfg


def evaluate_checkpoint(cfg: DictConfig) -> tuple[dict, object, object]:
    """(result dict, datamodule, module) for the checkpoint named by ``cfg.ckpt``."""
    from ganlab.modules.classifier import ClassifierModule

    checkpoint, run_cfg = load_checkpoint(cfg.ckpt)
    datamodule, module = restore(checkpoint, run_cfg, cfg.data_root)
    metrics = [str(m) for m in cfg.metrics]
    for m in metrics:
        if m not in EVAL_METRICS:
            raise ConfigError(f"metrics={m} is not a known metric; accepted: {', '.join(EVAL_METRICS)}")
    check_conditioning(module, metrics, cfg)
    result = {
        "checkpoint": str(Path(cfg.ckpt).resolve()),
        "experiment": run_cfg.get("name"),
        "iteration": getattr(module, "iteration", None),
        "epoch": checkpoint.get("epoch"),
    }
    if hasattr(module, "evaluated_with"):
        result["evaluated_with"] = module.evaluated_with  # "ema": G's moving average made the samples
    if isinstance(module, ClassifierModule):
        scores = module.evaluate(datamodule.eval_dataloader(module.eval_split, cfg.batch_size))
        result.update({"test_accuracy": scores["acc"], "test_loss": scores["loss"], "split": module.eval_split})
        return result, datamodule, module
    if hasattr(datamodule, "mixture"):
        result.update(mixture_scores(module, datamodule, metrics, cfg))
        return result, datamodule, module
    image_metrics = [m for m in metrics if m not in OWN_PASS]
    if image_metrics:
        from ganlab.metrics.evaluator import ImageEvaluator

        kwargs = {k: cfg[k] for k in EVAL_KEYS if k != "metrics"}
        evaluator = ImageEvaluator(datamodule, metrics=image_metrics, **kwargs)
        result.update(evaluator.evaluate(lambda z: module.sample(z=z), module.latent_dim, prior=module.latent_prior))
    if "probe" in metrics:
        from ganlab.metrics.probe import discriminator_probe

        features = module.encoder if hasattr(module, "encoder") else module.discriminator  # an autoencoder's codes
        result.update(discriminator_probe(features, datamodule, cfg.probe_train, cfg.probe_test, cfg.batch_size))
    if "reconstruction" in metrics:
        result.update(reconstruction(module, datamodule, cfg))
    if "intra_fid" in metrics:
        result.update(class_fid(module, datamodule, cfg))
    if "d_overfit" in metrics:
        from ganlab.metrics.d_overfit import discriminator_overfit

        augment = getattr(getattr(module, "loss", None), "augment", None)  # D's own policy: reported as well
        result.update(
            discriminator_overfit(
                module.discriminator, datamodule, cfg.d_images, cfg.batch_size, cfg.seed, augment=augment
            )
        )
    return result, datamodule, module


def check_conditioning(module, metrics: list[str], cfg: DictConfig) -> None:
    """Before any metric runs: intra-class FID needs a conditional generator, inversion an unconditional one, D's
    overfitting a discriminator with logits."""
    from ganlab.losses import GANLoss

    conditional = bool(getattr(getattr(module, "eval_generator", None), "num_classes", None))
    if "intra_fid" in metrics and not conditional:
        raise ConfigError(
            f"metrics=intra_fid needs a conditional generator, but ckpt={cfg.ckpt} holds an unconditional one"
        )
    if "d_overfit" in metrics and not isinstance(getattr(module, "loss", None), GANLoss):
        raise ConfigError(
            f"metrics=d_overfit reads a GAN discriminator's logits, but ckpt={cfg.ckpt} holds a "
            f"{type(module).__name__}; accepted: a GAN checkpoint (not BEGAN's autoencoder D, an autoencoder or a "
            "classifier)"
        )
    if "reconstruction" in metrics and conditional:
        raise ConfigError(f"metrics=reconstruction inverts z only, but ckpt={cfg.ckpt} holds a conditional generator")


def class_fid(module, datamodule, cfg: DictConfig) -> dict:
    """Intra-class FID of a conditional generator (``ganlab/metrics/intra_fid.py``), on ``extractor``'s features."""
    from ganlab.metrics.evaluator import ImageEvaluator
    from ganlab.metrics.intra_fid import module_intra_fid

    classes = module.eval_generator.num_classes
    kwargs = {k: cfg[k] for k in EVAL_KEYS if k != "metrics"}
    extractor, _ = ImageEvaluator(datamodule, metrics=["fid"], **kwargs).build_extractors()
    real = datamodule.eval_dataloader(cfg.split, cfg.batch_size, limit=cfg.n_real or cfg.n_samples)
    n_per_class = max(cfg.n_samples // classes, 2)
    return module_intra_fid(module, extractor, cfg.extractor, real, n_per_class, cfg.batch_size, cfg.seed)


def reconstruction(module, datamodule, cfg: DictConfig) -> dict:
    """G's inversion error on training and test images (``ganlab/metrics/reconstruction.py``)."""
    from ganlab.metrics.reconstruction import reconstruction_errors

    return reconstruction_errors(
        module.eval_generator,
        datamodule,
        module.latent_dim,
        cfg.recon_images,
        cfg.recon_restarts,
        cfg.recon_iterations,
        seed=cfg.seed,
    )


def mixture_scores(module, datamodule, metrics: list[str], cfg: DictConfig) -> dict:
    import torch

    from ganlab.metrics.modes import mode_coverage

    unsupported = [m for m in metrics if m != "modes"]
    if unsupported:
        name = getattr(datamodule, "mixture_name", "toy2d")
        raise ConfigError(
            f"metrics={','.join(unsupported)} needs image data; data={name} is a 2-D mixture; accepted: metrics=[modes]"
        )
    z = module.draw_latent(cfg.n_samples, torch.Generator().manual_seed(cfg.seed))
    mixture = datamodule.mixture
    coverage = mode_coverage(module.sample(z=z), mixture.centers, mixture.std)
    return {"mode_coverage": coverage.as_dict()}


def output_paths(ckpt: str) -> tuple[Path, Path]:
    """Fresh ``eval/<name>-<time>.json`` / ``.png`` beside the checkpoint: earlier results are never replaced."""
    folder = Path(ckpt).resolve().parent / "eval"
    stem = f"{Path(ckpt).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    n, candidate = 1, stem
    while (folder / f"{candidate}.json").exists():
        n += 1
        candidate = f"{stem}-{n}"
    return folder / f"{candidate}.json", folder / f"{candidate}.png"


def save_grid(module, path: Path, n: int, seed: int) -> None:
    """The training grid's picture (``SampleGridCallback``: fixed seeded z, one row per class if conditional)."""
    from torchvision.utils import make_grid, save_image

    from ganlab.callbacks.sample_grid import SampleGridCallback

    grid = SampleGridCallback(n_samples=n, nrow=int(n**0.5) or 1, seed=seed)
    save_image(make_grid(grid.images(module), nrow=grid.nrow, padding=2), path)


def summary_line(result: dict) -> str:
    from ganlab.metrics.evaluator import score_parts

    parts = score_parts(result)
    for key in ("probe_accuracy", "test_accuracy"):
        if key in result:
            parts.append(f"{key.replace('_', ' ')} {result[key]:.2%}")
    coverage = result.get("mode_coverage")
    if coverage:
        parts.append(f"modes {coverage['modes']}/{coverage['n_modes']} | HQ {coverage['hq']:.1f} %")
    return " | ".join(parts)


def run(argv: list[str]) -> Path:
    cfg = compose_eval(argv)
    for key in ("classifier_dir", "cache_dir", "data_root"):
        cfg[key] = OmegaConf.select(cfg, key)  # resolve now: paths.run_dir needs Hydra's runtime, unused here
    result, datamodule, module = evaluate_checkpoint(cfg)
    json_path, grid_path = output_paths(cfg.ckpt)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    if cfg.grid and hasattr(datamodule, "sample_shape") and hasattr(module, "sample"):
        save_grid(module, grid_path, cfg.grid, cfg.seed)
        result["grid"] = str(grid_path)
    plain = {k: cfg[k] for k in EVAL_KEYS}
    result["settings"] = {k: OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for k, v in plain.items()}
    from ganlab.callbacks.metrics_json import write_metrics_json

    write_metrics_json(json_path, result)
    print(f"[ganlab-eval] {result.get('experiment')}: {summary_line(result)} | {json_path}")
    return json_path


def main() -> None:
    run_entry("ganlab-eval", run, __doc__, EVAL_CONFIG)


if __name__ == "__main__":
    main()
