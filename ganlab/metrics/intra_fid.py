"""Intra-class FID of a conditional generator (Miyato & Koyama 2018, "cGANs with projection discriminator" §4):
the FID between G's samples of class c and the real images of class c, for every class, and their mean. A
conditional G that ignores its label (or draws every class alike) scores a good overall FID but a poor intra-FID.

Real per-class statistics come from one streamed pass over the split (labels from the dataset); the fakes of each
class from seeded latents with that label. The per-class FID is torchmetrics' ``FrechetInceptionDistance`` on the
same extractor's features as every other image metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from ganlab.metrics.extractors import FeatureExtractor
from ganlab.metrics.image_metrics import _Precomputed, image_batches
from ganlab.priors import draw_latent


@torch.inference_mode()
def intra_fid(
    extractor: FeatureExtractor,
    real: Iterable,
    sample: Callable[[Tensor, Tensor], Tensor],
    latent_dim: int,
    num_classes: int,
    n_per_class: int,
    batch_size: int = 500,
    seed: int = 2024,
    prior: str = "normal",
    device="cpu",
) -> dict:
    """``{"intra_fid": mean over classes, "intra_fid_per_class": [...], "intra_fid_n_real": [...]}``.
    ``real``: batches of (images, labels); ``sample(z, labels)``: images in [-1, 1]."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metrics = [
        FrechetInceptionDistance(feature=_Precomputed(extractor.num_features), reset_real_features=False).to(device)
        for _ in range(num_classes)
    ]
    counts = [0] * num_classes
    for images, labels in image_batches(real):
        if labels is None:
            raise ValueError("intra-class FID needs labelled real images")
        features = extractor(images.to(device))[0]
        labels = torch.as_tensor(labels).to(device)
        for c in range(num_classes):
            chosen = features[labels == c]
            if chosen.shape[0]:
                metrics[c].update(chosen, real=True)
                counts[c] += int(chosen.shape[0])
    missing = [c for c, n in enumerate(counts) if n < 2]
    if missing:
        raise ValueError(f"intra-class FID: classes {missing} have fewer than 2 real images in the split")
    rng = torch.Generator().manual_seed(seed)
    per_class = []
    for c in range(num_classes):
        remaining = n_per_class
        while remaining > 0:
            n = min(batch_size, remaining)
            z = draw_latent(n, latent_dim, prior, rng)
            metrics[c].update(extractor(sample(z, torch.full((n,), c, dtype=torch.long)).to(device))[0], real=False)
            remaining -= n
        per_class.append(float(metrics[c].compute()))
    return {"intra_fid": sum(per_class) / num_classes, "intra_fid_per_class": per_class, "intra_fid_n_real": counts}


def module_intra_fid(
    module, extractor: FeatureExtractor, extractor_name: str, real: Iterable, n_per_class: int, batch_size: int,
    seed: int, device="cpu",
) -> dict:  # fmt: skip
    """``intra_fid`` of a conditional GenerativeModule's evaluation generator (``module.sample``), its keys named
    as every image metric on ``extractor_name``'s features (``classifier_intra_fid``, ``intra_fid``): what the
    training callback and ``ganlab-eval`` both report."""
    from ganlab.metrics.evaluator import PREFIX

    scores = intra_fid(
        extractor,
        real,
        lambda z, labels: module.sample(z=z, labels=labels),
        module.latent_dim,
        module.eval_generator.num_classes,
        n_per_class,
        batch_size,
        seed,
        module.latent_prior,
        device=device,
    )
    return {PREFIX[extractor_name] + k: v for k, v in scores.items()}
