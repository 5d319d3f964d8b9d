"""How well G reproduces real images it was trained on, and images it never saw: the lecture's "reconstruction
error" row of its evaluation table (lecture 001, "GAN evaluation"), an overfitting signal.

Each image is inverted by ``ganlab.latent.invert`` (a batched multi-restart latent search, every image and
restart in one batch); its error is the best restart's mean squared error on [-1, 1] pixels. A G that memorised
its training set reconstructs training images markedly better than test images (``reconstruction_gap`` > 0);
a G that generalises shows no gap. Both sets are seeded fixed subsets of the same size.
"""

from __future__ import annotations

import torch
from torch import nn

from ganlab.latent.inversion import invert
from ganlab.nets.base import eval_mode


def reconstruction_errors(
    generator: nn.Module,
    datamodule,
    latent_dim: int,
    n_images: int = 256,
    restarts: int = 5,
    iterations: int = 300,
    lr: float = 0.05,
    seed: int = 0,
) -> dict[str, float]:
    """``reconstruction_mse_train`` / ``_test`` (mean over images of the best restart's MSE) and their gap
    (test − train). Datasets with one split (digits) have no unseen images: only ``reconstruction_mse``."""
    one_split = getattr(datamodule, "one_split", False)
    splits = ("train",) if one_split else ("train", "test")
    params = list(generator.parameters())
    flags = [p.requires_grad for p in params]
    out: dict[str, float] = {}
    try:
        for p in params:
            p.requires_grad_(False)  # gradients flow to z only
        with eval_mode(generator):
            for split in splits:
                images, _ = datamodule.eval_batch(split, n_images, seed=seed)
                device = next(iter(params)).device if params else torch.device("cpu")
                found = invert(
                    generator, images.to(device), latent_dim, restarts=restarts, iterations=iterations, lr=lr, seed=seed
                )
                out[f"reconstruction_mse_{split}"] = float(found.loss.mean())
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)
    if one_split:
        return {"reconstruction_mse": out["reconstruction_mse_train"]}
    out["reconstruction_gap"] = out["reconstruction_mse_test"] - out["reconstruction_mse_train"]
    return out
