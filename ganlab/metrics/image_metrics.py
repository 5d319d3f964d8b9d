"""FID / KID / IS, precision / recall / density / coverage and labelled mode coverage from one feature pass.

``ImageMetricSuite`` holds torchmetrics' ``FrechetInceptionDistance``, ``KernelInceptionDistance`` and
``InceptionScore`` fed with *precomputed* features (the extractor runs once per image for all of them), plus a
class histogram for modes. Real statistics (FID sums, KID features, the real class histogram) are computed once
per (dataset, split, image size, extractor, M), streamed batch by batch, and cached on disk (``RealStats``):
torchmetrics' own real states do not survive a checkpoint. Under DDP each rank updates its share of the fakes;
``compute`` is collective (every rank calls it): the cached real sums enter on rank 0 only and the real KID
features are split over the ranks, so torchmetrics' sum / concatenation reduction sees each real image once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from ganlab.common.errors import ConfigError
from ganlab.metrics.extractors import FeatureExtractor

METRICS = ("fid", "kid", "is", "modes", "prdc")
STATS_FORMAT = "ganlab-real-stats/1"


def check_metric_names(metrics: Sequence[str]) -> list[str]:
    metrics = [str(m) for m in metrics]
    for m in metrics:
        if m not in METRICS:
            raise ConfigError(f"metrics={m} is not a known metric; accepted: {', '.join(METRICS)}")
    return metrics


class _Precomputed(nn.Module):
    """torchmetrics' ``feature`` slot for features the suite has already extracted."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        return x


class PRDC(Metric):
    """Precision, recall, density and coverage (``ganlab/metrics/prdc.py``) of the fakes' features against the
    real ones: the fakes' features are a ``cat`` state (gathered over DDP ranks); every rank holds all real
    features (loaded from the cached statistics)."""

    full_state_update = False

    def __init__(self, k_pr: int = 3, k_dc: int = 5):
        super().__init__()
        self.k_pr, self.k_dc = k_pr, k_dc
        self.add_state("fake_features", [], dist_reduce_fx="cat")
        self.real_features: Tensor | None = None

    def update(self, features: Tensor) -> None:
        self.fake_features.append(features.double())

    def compute(self) -> dict[str, float]:
        from torchmetrics.utilities import dim_zero_cat

        from ganlab.metrics.prdc import prdc

        return prdc(self.real_features, dim_zero_cat(self.fake_features).cpu(), self.k_pr, self.k_dc)


class ClassHistogram(Metric):
    """Counts of predicted classes; summed over DDP ranks."""

    full_state_update = False

    def __init__(self, num_classes: int):
        super().__init__()
        self.add_state("counts", torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, labels: Tensor) -> None:
        self.counts += torch.bincount(labels.flatten().long(), minlength=self.counts.numel())

    def compute(self) -> Tensor:
        return self.counts


@dataclass
class RealStats:
    """Streamed statistics of M real images under one extractor."""

    feature_sum: Tensor  # (d,) float64
    feature_cov_sum: Tensor  # (d, d) float64: Σ f fᵀ
    n: int
    features: Tensor | None = None  # (M, d) float32, kept for KID
    label_counts: Tensor | None = None  # (K,) true labels of the real images, when the data is labelled
    meta: dict = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
        torch.save({"format": STATS_FORMAT, **self.__dict__}, tmp)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RealStats:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.pop("format", None) != STATS_FORMAT:
            raise ValueError(f"{path} is not a ganlab real-statistics file ({STATS_FORMAT})")
        return cls(**payload)


def image_batches(loader: Iterable) -> Iterable[tuple[Tensor, Tensor | None]]:
    for batch in loader:
        if isinstance(batch, list | tuple):
            yield batch[0], (batch[1] if len(batch) > 1 else None)
        else:
            yield batch, None


@torch.inference_mode()
def compute_real_stats(
    extractor: FeatureExtractor, loader: Iterable, keep_features: bool, num_labels: int | None, device="cpu"
) -> RealStats:
    """One streamed pass over ``loader``: O(d²) memory for FID (plus M·d when ``keep_features`` for KID)."""
    d = extractor.num_features
    total, cov, n = torch.zeros(d, dtype=torch.float64), torch.zeros(d, d, dtype=torch.float64), 0
    kept, counts = [], torch.zeros(num_labels or 0, dtype=torch.long)
    for images, labels in image_batches(loader):
        features = extractor(images.to(device))[0].double().cpu()
        total += features.sum(0)
        cov += features.T @ features
        n += features.shape[0]
        if keep_features:
            kept.append(features.float())
        if num_labels and labels is not None:
            counts += torch.bincount(torch.as_tensor(labels).long().flatten(), minlength=num_labels)
    return RealStats(
        total,
        cov,
        n,
        torch.cat(kept) if kept else None,
        counts if num_labels and counts.sum() > 0 else None,
    )


def cached_real_stats(
    path: Path, compute: Callable[[], RealStats], need_features: bool, meta: dict | None = None
) -> tuple[RealStats, bool]:
    """(statistics, whether they came from the cache): computed and written once, reused after."""
    if path.is_file():
        try:
            stats = RealStats.load(path)
            if stats.features is not None or not need_features:
                return stats, True
        except Exception:  # unreadable or stale format: recompute and replace
            pass
    stats = compute()
    stats.meta = dict(meta or {})
    stats.save(path)
    return stats, False


def kl_divergence(p_counts: Tensor, q: Tensor) -> float:
    """KL(p ‖ q) with p from counts; inf when p puts mass where q has none."""
    p = p_counts.double() / p_counts.sum().clamp(min=1)
    q = q.double() / q.sum()
    nz = p > 0
    if (q[nz] == 0).any():
        return math.inf
    return float((p[nz] * (p[nz] / q[nz]).log()).sum())


class ImageMetricSuite(nn.Module):
    """FID, KID, IS (torchmetrics) and modes from one extractor pass per fake batch.

    ``mode_extractor``: the domain classifier that labels samples for ``modes`` (the main extractor when that is
    a classifier). ``mode_reference``: ``data`` (KL to the real class histogram) or ``uniform``."""

    def __init__(
        self,
        extractor: FeatureExtractor,
        metrics: Sequence[str] = ("fid", "kid", "is"),
        mode_extractor: FeatureExtractor | None = None,
        mode_reference: str = "data",
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        is_splits: int = 10,
    ):
        super().__init__()
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore
        from torchmetrics.image.kid import KernelInceptionDistance

        self.metrics = check_metric_names(metrics)
        self.extractor = extractor
        self.mode_extractor = mode_extractor if mode_extractor is not None else extractor
        self.mode_reference = mode_reference
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        feature = _Precomputed(extractor.num_features)
        self.fid = FrechetInceptionDistance(feature=feature, reset_real_features=False) if "fid" in metrics else None
        self.kid = (
            KernelInceptionDistance(
                feature=feature, subsets=kid_subsets, subset_size=kid_subset_size, reset_real_features=False
            )
            if "kid" in metrics
            else None
        )
        self.inception_score = InceptionScore(feature=_Precomputed(extractor.num_classes), splits=is_splits)
        if "is" not in metrics:
            self.inception_score = None
        self.histogram = ClassHistogram(self.mode_extractor.num_classes) if "modes" in metrics else None
        self.prdc = PRDC() if "prdc" in metrics else None
        self.real_label_counts: Tensor | None = None
        self.n_real = 0
        self.n_fake = 0  # on this rank

    @property
    def needs_features(self) -> bool:
        return any(m in self.metrics for m in ("fid", "kid", "is", "prdc"))

    def load_real(self, stats: RealStats, rank: int = 0, world_size: int = 1) -> None:
        """Real states from cached statistics, placed so that the DDP reduction counts every real image once."""
        if self.fid is not None:
            if rank == 0:
                self.fid.real_features_sum = stats.feature_sum.clone()
                self.fid.real_features_cov_sum = stats.feature_cov_sum.clone()
                self.fid.real_features_num_samples = torch.tensor(stats.n)
            else:
                self.fid.real_features_sum.zero_()
                self.fid.real_features_cov_sum.zero_()
                self.fid.real_features_num_samples = torch.tensor(0)
        if self.kid is not None:
            self.kid.real_features = [stats.features[rank::world_size].double()]
        if self.prdc is not None:
            self.prdc.real_features = stats.features.double()
        self.real_label_counts = stats.label_counts
        self.n_real = stats.n if stats.features is None else int(stats.features.shape[0])
        self.reset_fake()

    def reset_fake(self) -> None:
        """Forget the fakes; the real states stay (``reset_real_features=False``)."""
        for metric in (self.fid, self.kid, self.inception_score, self.histogram, self.prdc):
            if metric is not None:
                metric.reset()
        self.n_fake = 0

    @torch.inference_mode()
    def update_fake(self, images: Tensor) -> None:
        features, logits = self.extractor(images) if self.needs_features else (None, None)
        if self.fid is not None:
            self.fid.update(features, real=False)
        if self.kid is not None:
            self.kid.update(features.double(), real=False)
        if self.inception_score is not None:
            self.inception_score.update(logits)
        if self.prdc is not None:
            self.prdc.update(features)
        if self.histogram is not None:
            if self.mode_extractor is not self.extractor or logits is None:
                logits = self.mode_extractor(images)[1]
            self.histogram.update(logits.argmax(dim=1).cpu())
        self.n_fake += images.shape[0]

    def compute(self, n_fake_total: int | None = None) -> dict[str, float]:
        """Collective under DDP: every rank calls it, every rank gets the same values. ``n_fake_total``: the fakes
        of all ranks (KID's subset size is capped by it; default: this rank's count)."""
        out: dict[str, float] = {}
        if self.fid is not None:
            out["fid"] = float(self.fid.compute())
        if self.kid is not None:
            size = min(self.kid_subset_size, self.n_real, n_fake_total or self.n_fake)
            self.kid.subset_size = max(size, 2)
            mean, std = self.kid.compute()
            out["kid"], out["kid_std"] = float(mean), float(std)
        if self.inception_score is not None:
            mean, std = self.inception_score.compute()
            out["is"], out["is_std"] = float(mean), float(std)
        if self.prdc is not None:
            out.update(self.prdc.compute())
        if self.histogram is not None:
            counts = self.histogram.compute()
            out["modes"] = int((counts > 0).sum())
            out["n_modes"] = int(counts.numel())
            if self.mode_reference == "uniform" or self.real_label_counts is None:
                reference = torch.ones(counts.numel())
            else:
                reference = self.real_label_counts
            out["mode_kl"] = kl_divergence(counts, reference)
        return out
