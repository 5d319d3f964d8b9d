"""``ImageEvaluator``: scores a generator on an image datamodule — the glue shared by the metric callback and
``ganlab-eval``. It builds the extractor(s), gets the real statistics (cached on disk, computed once, by rank 0
under DDP), draws each rank's share of M fakes from its own seeded latents, and returns the values with their
provenance (extractor, antialias, classifier, real/fake counts, split)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor

from ganlab.common.errors import ConfigError
from ganlab.metrics.extractors import ClassifierExtractor, build_extractor
from ganlab.metrics.image_metrics import (
    ImageMetricSuite,
    RealStats,
    cached_real_stats,
    check_metric_names,
    compute_real_stats,
)
from ganlab.priors import draw_latent

#: Names of the scores by extractor: Inception numbers keep the field's names; classifier ones say so.
PREFIX = {"inception": "", "classifier": "classifier_"}
PREFIXED = ("fid", "kid", "kid_std", "is", "is_std", "precision", "recall", "density", "coverage")


def score_parts(scores: dict) -> list[str]:
    """``classifier_fid 11.4``, ``modes 10/10``, … of an evaluation's values, for one-line summaries."""
    names = [p + k for p in ("classifier_", "") for k in ("fid", "kid", "is", "precision", "recall")]
    parts = [f"{k} {scores[k]:.3g}" for k in names if scores.get(k) is not None]
    if scores.get("modes") is not None:
        parts.append(f"modes {scores['modes']}/{scores['n_modes']}")
    if scores.get("mode_kl") is not None:
        parts.append(f"mode_kl {scores['mode_kl']:.3g}")
    return parts


def rank_share(n: int, rank: int, world_size: int) -> int:
    return n // world_size + (1 if rank < n % world_size else 0)


class ImageEvaluator:
    def __init__(
        self,
        datamodule,
        metrics: Sequence[str] = ("fid", "kid", "is", "modes"),
        extractor: str = "classifier",
        n_samples: int = 10_000,
        n_real: int | None = None,
        split: str = "test",
        batch_size: int = 500,
        seed: int = 2024,
        classifier: str | os.PathLike | None = None,
        classifier_dir: str | os.PathLike = "classifiers",
        cache_dir: str | os.PathLike | None = None,
        inception_weights: str | os.PathLike | None = None,
        antialias: bool = True,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
    ):
        self.datamodule = datamodule
        self.metrics = check_metric_names(metrics)
        self.extractor_name = extractor
        self.n_samples, self.n_real = n_samples, n_real or n_samples
        self.split, self.batch_size, self.seed = split, batch_size, seed
        self.classifier, self.classifier_dir = classifier, classifier_dir
        self.cache_dir = Path(cache_dir) if cache_dir is not None else Path(classifier_dir) / "stats"
        self.inception_weights, self.antialias = inception_weights, antialias
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        self.suite: ImageMetricSuite | None = None
        self._extractors = None
        self.real_stats_path: Path | None = None
        self.real_stats_cached: bool | None = None
        if not hasattr(datamodule, "split_dataset"):
            name = getattr(datamodule, "name", type(datamodule).__name__)
            raise ConfigError(
                f"image metrics need image data but data={name}; accepted: an image dataset (mnist, cifar10, …), "
                "or mode coverage for 2-D mixtures"
            )

    # ----------------------------------------------------------------- set-up
    def build_extractors(self, device: torch.device | str = "cpu"):
        """(extractor, mode extractor or None), loaded once (a callback builds them at setup to fail early)."""
        if self._extractors is None:
            self._extractors = self._load_extractors()
        main, modes = self._extractors
        return main.to(device).eval(), (modes.to(device).eval() if modes is not None else None)

    def _load_extractors(self):
        main = None
        if any(m != "modes" for m in self.metrics):
            main = build_extractor(
                self.extractor_name,
                self.datamodule,
                classifier_dir=self.classifier_dir,
                classifier=self.classifier,
                inception_weights=self.inception_weights,
                antialias=self.antialias,
            )
        modes = None
        if "modes" in self.metrics:
            if isinstance(main, ClassifierExtractor):
                modes = main
            else:
                modes = build_extractor("classifier", self.datamodule, self.classifier_dir, self.classifier)
        return (main if main is not None else modes), modes

    def cache_path(self, cache_id: str) -> Path:
        shape = "x".join(str(s) for s in getattr(self.datamodule, "sample_shape", ()))
        name = f"{self.datamodule.name}-{self.split}-{shape}-{cache_id}-n{self.n_real}.pt"
        return self.cache_dir / re.sub(r"[^A-Za-z0-9._-]", "_", name)

    def setup(
        self, device: torch.device | str = "cpu", rank: int = 0, world_size: int = 1, barrier: Callable = lambda: None
    ) -> None:
        """Extractors, then real statistics (rank 0 computes and caches them; the others wait and read)."""
        extractor, mode_extractor = self.build_extractors(device)
        self.suite = ImageMetricSuite(
            extractor,
            self.metrics,
            mode_extractor=mode_extractor,
            mode_reference=getattr(self.datamodule, "mode_reference", "data"),
            kid_subsets=self.kid_subsets,
            kid_subset_size=self.kid_subset_size,
        )
        self.real_stats_path = self.cache_path(extractor.cache_id)
        stats = None
        if rank == 0:
            stats, self.real_stats_cached = self.real_stats(device)
        barrier()
        if stats is None:
            stats = RealStats.load(self.real_stats_path)
        self.suite.load_real(stats, rank, world_size)

    def real_stats(self, device) -> tuple[RealStats, bool]:
        suite = self.suite

        def compute() -> RealStats:
            loader = self.datamodule.eval_dataloader(self.split, self.batch_size, limit=self.n_real, seed=0)
            return compute_real_stats(
                suite.extractor,
                loader,
                keep_features=self.needs_real_features,
                num_labels=getattr(self.datamodule, "num_classes", None),
                device=device,
            )

        meta = {"dataset": self.datamodule.name, "split": self.split, **suite.extractor.provenance()}
        return cached_real_stats(self.real_stats_path, compute, need_features=self.needs_real_features, meta=meta)

    @property
    def needs_real_features(self) -> bool:
        """KID and precision/recall/density/coverage compare feature sets, not moments."""
        return "kid" in self.metrics or "prdc" in self.metrics

    # ----------------------------------------------------------------- evaluation
    def evaluate(
        self,
        sample: Callable[[Tensor], Tensor],
        latent_dim: int,
        rank: int = 0,
        world_size: int = 1,
        device="cpu",
        prior: str = "normal",
    ) -> dict:
        """Scores of ``sample`` (z → images in [-1, 1]) on this rank's share of ``n_samples`` latents (a seeded
        generator per rank). Collective under DDP. The global RNGs are left as they were."""
        if self.suite is None:
            self.setup(device, rank, world_size)
        suite = self.suite
        suite.reset_fake()
        devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)  # KID subsets and IS splits are drawn from the global RNG
            rng = torch.Generator().manual_seed(self.seed + 1000 * rank)
            remaining = rank_share(self.n_samples, rank, world_size)
            while remaining > 0:
                n = min(self.batch_size, remaining)
                suite.update_fake(sample(draw_latent(n, latent_dim, prior, rng)).to(device))
                remaining -= n
            values = suite.compute(n_fake_total=self.n_samples)
        return self.named(values, world_size)

    def named(self, values: dict, world_size: int) -> dict:
        prefix = PREFIX[self.extractor_name]
        out = {(prefix + k if k in PREFIXED else k): v for k, v in values.items()}
        provenance = {
            **self.suite.extractor.provenance(),
            "dataset": self.datamodule.name,
            "split": self.split,
            "n_real": self.suite.n_real,
            "n_fake": self.n_samples,
            "world_size": world_size,
            "real_stats": str(self.real_stats_path),
        }
        if "modes" in self.metrics:
            provenance["mode_classifier"] = str(getattr(self.suite.mode_extractor, "path", None))
            provenance["mode_reference"] = getattr(self.datamodule, "mode_reference", "data")
        out["provenance"] = provenance
        return out
