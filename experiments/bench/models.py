"""The trained models the quality benchmarks start from, trained by the real ``ganlab-train`` when missing:

- ``classifiers/mnist.pt`` (``experiment=classifier_mnist``, 5 epochs, ≈ 4 min): the classifier-FID extractor;
- the newest ``outputs/train/mnist_dcgan`` run (5 epochs with ``callbacks/metrics=classifier``, ≈ 20 min): the
  generator of the latent benchmark and the GAN the autoencoder is compared with.

``$GANLAB_OUTPUT_DIR`` and ``$GANLAB_CLASSIFIER_DIR`` move them, as for ``ganlab-train``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ganlab.composition.checkpoints import latest_checkpoint

#: The GAN the benchmarks use: issue #4's 5-epoch DCGAN (classifier-FID ≈ 11.4).
GAN_PRESET, GAN_EPOCHS = "mnist_dcgan", 5


def output_root() -> Path:
    return Path(os.environ.get("GANLAB_OUTPUT_DIR", "outputs"))


def classifier_dir() -> Path:
    return Path(os.environ.get("GANLAB_CLASSIFIER_DIR", "classifiers"))


def train_preset(overrides: list[str], data_root: Path, out: Path | None = None) -> float:
    """Run ``ganlab-train <overrides>`` (outputs under ``out``, default ``$GANLAB_OUTPUT_DIR``); wall seconds."""
    env = {**os.environ, "GANLAB_DATA_DIR": str(data_root)}
    if out is not None:
        env["GANLAB_OUTPUT_DIR"] = str(out)
    command = [str(Path(sys.executable).parent / "ganlab-train"), *overrides, "trainer.enable_progress_bar=false"]
    print("[bench] " + " ".join(command[1:]), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark: ganlab-train {' '.join(overrides)} failed (exit {proc.returncode})")
    return time.perf_counter() - start


def newest_run_checkpoint(preset: str, root: Path | None = None) -> Path | None:
    return latest_checkpoint((root or output_root()) / "train" / preset)


def ensure_classifier(data_root: Path) -> Path:
    path = classifier_dir() / "mnist.pt"
    if not path.is_file():
        train_preset(["experiment=classifier_mnist"], data_root)
    return path


def ensure_gan_checkpoint(data_root: Path) -> Path:
    """$GANLAB_LATENT_CKPT, else the newest mnist_dcgan ``last.ckpt``, else one trained now (5 epochs)."""
    if os.environ.get("GANLAB_LATENT_CKPT"):
        return Path(os.environ["GANLAB_LATENT_CKPT"])
    found = newest_run_checkpoint(GAN_PRESET)
    if found is None:
        ensure_classifier(data_root)
        train_preset(
            [f"experiment={GAN_PRESET}", f"trainer.max_epochs={GAN_EPOCHS}", "callbacks/metrics=classifier"], data_root
        )
        found = newest_run_checkpoint(GAN_PRESET)
    return found
