"""N samples of a trained generator on disk, for evaluators outside ganlab (torch-fidelity ``fidelity --input1 DIR``,
clean-fid): images as one PNG each and/or an ``.npz`` array, with a manifest of what produced them. Pure functions
of a module (``ganlab-sample``, ``ganlab/cli/sample.py``, reads the checkpoint and the settings)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ganlab.latent.walks import truncate


def pick_generator(module, which: str) -> tuple[nn.Module, str]:
    """(the network, its name) for ``which``: ``auto`` the one evaluation uses (G's EMA once it started, else G),
    ``g`` G itself, ``ema`` the moving average (ValueError without one)."""
    if which == "g":
        return module.generator, "generator"
    if which == "ema":
        ema = getattr(module, "generator_ema", None)
        if ema is None:
            raise ValueError("generator=ema but this run kept no moving average of G; accepted: auto, g")
        return ema.module, "ema"
    return module.eval_generator, module.evaluated_with


def sample_batches(module, net: nn.Module, n: int, batch_size: int, seed: int, label: int | None = None,
                   truncation: float = float("inf")) -> Iterator[tuple[Tensor, Tensor | None]]:  # fmt: skip
    """(samples, labels) in batches: latents from the run's prior drawn from a generator seeded with ``seed`` and
    truncated at ``truncation`` (BigGAN's trick; inf: none); a conditional G gets ``label`` for every sample, or the
    classes in turn."""
    noise = torch.Generator().manual_seed(seed)
    classes = getattr(net, "num_classes", None)
    if label is not None and not classes:
        raise ValueError(f"label={label} but the generator is unconditional; accepted: label=null")
    if label is not None and not 0 <= label < classes:
        raise ValueError(f"label={label} is invalid; accepted: an integer in [0, {classes - 1}]")
    net.eval()
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        z = module.draw_latent(size, noise)
        if truncation != float("inf"):
            z = truncate(z, truncation, noise)
        labels = None
        if classes:
            labels = torch.full((size,), label) if label is not None else (torch.arange(done, done + size) % classes)
        with torch.no_grad():
            x = module.generate(z.to(module.device), None if labels is None else labels.to(module.device), net)
        yield x.detach().cpu(), labels
        done += size


def to_uint8(images: Tensor) -> np.ndarray:
    """Images in [−1, 1] (N, C, H, W) → uint8 (N, H, W, C), as image evaluators read them."""
    scaled = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).numpy()


def write_samples(batches: Iterator[tuple[Tensor, Tensor | None]], out: Path, formats: tuple[str, ...]) -> dict:
    """Write the batches into ``out`` (``png``: images/000000.png …; ``npz``: samples.npz with ``samples`` — uint8
    NHWC images, or float32 points — and ``labels``); what was written."""
    from PIL import Image

    arrays, labels, count, shape = [], [], 0, None
    for x, y in batches:
        shape = list(x.shape[1:])
        images = x.dim() == 4
        if "png" in formats:
            (out / "images").mkdir(parents=True, exist_ok=True)
            for i, pixels in enumerate(to_uint8(x)):
                image = Image.fromarray(pixels[..., 0]) if pixels.shape[-1] == 1 else Image.fromarray(pixels)
                image.save(out / "images" / f"{count + i:06d}.png")
        if "npz" in formats:
            arrays.append(to_uint8(x) if images else x.numpy().astype(np.float32))
            if y is not None:
                labels.append(y.numpy())
        count += x.shape[0]
    if "npz" in formats:
        extra = {"labels": np.concatenate(labels)} if labels else {}
        np.savez_compressed(out / "samples.npz", samples=np.concatenate(arrays), **extra)
    return {"n": count, "shape": shape, "files": sorted(p.name for p in out.iterdir())}


def write_manifest(out: Path, manifest: dict) -> None:
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
