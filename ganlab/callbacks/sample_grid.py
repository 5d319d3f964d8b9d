"""A grid of generator samples from a fixed latent batch, every epoch and at the end of training."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from torchvision.utils import save_image


class SampleGridCallback(pl.Callback):
    """Saves ``samples/grid_epochEEEE_iterIIIIIII.png`` and ``samples/grid_final.png``; images in [-1, 1] are
    mapped to [0, 1] explicitly. The latent batch has its own seed, so training noise is not consumed."""

    def __init__(self, n_samples: int = 64, nrow: int = 8, run_dir: str | None = None, seed: int = 4321):
        self.n_samples, self.nrow, self.seed = n_samples, nrow, seed
        self.dir = Path(run_dir) / "samples" if run_dir else None
        self._cache: tuple[int, torch.Tensor] | None = None

    def images(self, pl_module) -> torch.Tensor:
        """The grid's images in [0, 1] at the current iteration (generated once per iteration)."""
        if self._cache is None or self._cache[0] != pl_module.iteration:
            z = torch.randn(self.n_samples, pl_module.latent_dim, generator=torch.Generator().manual_seed(self.seed))
            self._cache = (pl_module.iteration, ((pl_module.sample(z=z).float().cpu() + 1) / 2).clamp(0, 1))
        return self._cache[1]

    def save(self, pl_module, name: str) -> Path:
        images = self.images(pl_module)
        self.dir.mkdir(parents=True, exist_ok=True)
        save_image(images, self.dir / name, nrow=self.nrow)
        return self.dir / name

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.dir is not None and trainer.is_global_zero:
            self.save(pl_module, f"grid_epoch{trainer.current_epoch:04d}_iter{pl_module.iteration:07d}.png")

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.dir is not None and trainer.is_global_zero:
            self.save(pl_module, "grid_final.png")
