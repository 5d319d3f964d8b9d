"""Does D tell its training images from unseen ones? D's outputs on real training images against real test images
(Karras et al. 2020, "Training GANs with Limited Data", Fig. 1b–c: the two distributions drift apart as D
overfits, while FID later rises). Reported: the mean logit on each split and their gap (train − test), and ADA's
heuristic E[sign D(x)] on each split (r_t on training images; its counterpart r_v on held-out ones).

A D that generalises scores both splits alike (gap ≈ 0); a D that memorised its training set is confident on it
and not on the test images (gap > 0). With ``data.train_fraction`` the training images are the subset D trains on.
Unaugmented images, D in eval mode, the same fixed seeded subsets every time. A D trained with an augmentation
(DiffAugment, ADA: ``augment``) never sees unaugmented images; its numbers are also given under its own policy (the
``*_aug`` keys, the transforms drawn from a generator seeded with ``seed``; ADA at its trained p), as the DiffAugment
and ADA authors measure it: both are reported."""

from __future__ import annotations

import torch
from torch import nn

from ganlab.metrics.image_metrics import image_batches
from ganlab.nets.base import eval_mode


@torch.inference_mode()
def discriminator_overfit(
    discriminator: nn.Module,
    datamodule,
    n_images: int = 1000,
    batch_size: int = 500,
    seed: int = 0,
    device="cpu",
    augment: nn.Module | None = None,
) -> dict[str, float]:
    """``d_logit_train`` / ``_test`` (mean raw output), ``d_logit_gap`` (train − test), ``d_sign_train`` /
    ``_test`` (E[sign D(x)]); with ``augment``, the same under D's augmentation (``*_aug``). A conditional D is given
    each image's label; a packing D whole packs only. Datasets with one split (digits) have no unseen images: only
    the training values."""
    out = _scores(discriminator, datamodule, n_images, batch_size, seed, device)
    if augment is not None:
        generator = torch.Generator(device=device).manual_seed(seed)
        policy = lambda x: augment(x, generator)  # noqa: E731 - one seeded draw stream over both splits
        out.update(_scores(discriminator, datamodule, n_images, batch_size, seed, device, policy, "_aug"))
    return out


def _scores(discriminator, datamodule, n_images, batch_size, seed, device, transform=None, suffix: str = ""):
    """The mean logit and E[sign] per split (keys ending in ``suffix``), each batch passed through ``transform``."""
    pack = int(getattr(discriminator, "pack", 1) or 1)
    conditional = bool(getattr(discriminator, "num_classes", None))
    splits = ("train",) if getattr(datamodule, "one_split", False) else ("train", "test")
    batch = max(pack, batch_size - batch_size % pack)
    out: dict[str, float] = {}
    with eval_mode(discriminator):
        for split in splits:
            logits = []
            loader = datamodule.eval_dataloader(split, batch, limit=n_images, seed=seed)
            for images, labels in image_batches(loader):
                keep = images.shape[0] - images.shape[0] % pack
                if keep == 0:
                    continue
                x = images[:keep].to(device)
                if transform is not None:
                    x = transform(x)
                if conditional:
                    logits.append(discriminator(x, torch.as_tensor(labels)[:keep].to(device)).flatten().float())
                else:
                    logits.append(discriminator(x).flatten().float())
            values = torch.cat(logits)
            out[f"d_logit_{split}{suffix}"] = float(values.mean())
            out[f"d_sign_{split}{suffix}"] = float(values.sign().mean())
    if f"d_logit_test{suffix}" in out:
        out[f"d_logit_gap{suffix}"] = out[f"d_logit_train{suffix}"] - out[f"d_logit_test{suffix}"]
    return out
