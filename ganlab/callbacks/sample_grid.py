"""A grid of generator samples from a fixed latent batch, every epoch and at the end of training; also sent to
the logger as an image (W&B, TensorBoard) when it takes images."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from torchvision.utils import make_grid, save_image

from ganlab.common.validators import require_positive_ints


def logger_step(pl_module) -> int:
    """The step loggers record for what is logged after ``pl_module.iteration`` iterations: Lightning's own
    (iterations done − 1, as in ``csv/metrics.csv``), so pictures and late metrics line up with the epoch's
    numbers (and W&B's steps never go back)."""
    return max(int(pl_module.iteration) - 1, 0)


def log_image(trainer, key: str, grid: torch.Tensor, step: int) -> None:
    """Send a (3, H, W) image in [0, 1] at ``step`` (``logger_step``) to every logger that takes images; others
    (CSV) are skipped."""
    for logger in trainer.loggers:
        if hasattr(logger, "log_image"):  # WandbLogger
            logger.log_image(key=key, images=[grid], step=step)
        elif hasattr(getattr(logger, "experiment", None), "add_image"):  # TensorBoardLogger
            logger.experiment.add_image(key, grid, global_step=step)


def log_png(trainer, key: str, path: Path, step: int) -> None:
    """A saved figure (a PNG file) to the loggers that take images, as ``log_image``."""
    if not any(hasattr(lg, "log_image") or hasattr(getattr(lg, "experiment", None), "add_image")
               for lg in trainer.loggers):  # fmt: skip
        return
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        pixels = torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)
    log_image(trainer, key, pixels.float() / 255.0, step)


class GridCallback(pl.Callback):
    """Saves ``samples/<prefix>_epochEEEE_iterIIIIIII.png`` every ``every_n_epochs`` epochs and
    ``samples/<prefix>_final.png`` at the end (rank 0), and sends the picture to the logger under ``key``. Subclasses
    ``draw`` the pictures. (An epoch of a few-shot subset is one iteration: ``every_n_epochs`` keeps the folder to
    the grids one reads.)"""

    prefix = "grid"
    key = "samples/grid"
    #: The colour between pictures (0 black, 1 white).
    pad_value = 0.0

    def __init__(self, nrow: int, run_dir: str | None = None, every_n_epochs: int = 1):
        require_positive_ints(every_n_epochs=every_n_epochs)
        self.nrow, self.every_n_epochs = nrow, every_n_epochs
        self.dir = Path(run_dir) / "samples" if run_dir else None

    def draw(self, trainer, pl_module) -> torch.Tensor:
        """The pictures in [0, 1], ``nrow`` a row."""
        raise NotImplementedError

    def save(self, trainer, pl_module, name: str) -> Path:
        grid = make_grid(self.draw(trainer, pl_module), nrow=self.nrow, padding=2, pad_value=self.pad_value)
        self.dir.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.dir / name)
        log_image(trainer, self.key, grid, logger_step(pl_module))
        return self.dir / name

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.dir is not None and trainer.is_global_zero and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            name = f"{self.prefix}_epoch{trainer.current_epoch:04d}_iter{pl_module.iteration:07d}.png"
            self.save(trainer, pl_module, name)

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.dir is not None and trainer.is_global_zero:
            self.save(trainer, pl_module, f"{self.prefix}_final.png")


class SampleGridCallback(GridCallback):
    """Saves ``samples/grid_epochEEEE_iterIIIIIII.png`` and ``samples/grid_final.png``; images in [-1, 1] are
    mapped to [0, 1] explicitly. The latent batch has its own seed, so training noise is not consumed.

    For a conditional generator the grid has one row per class (``nrow`` samples each, the same z in every
    column), so a row shows what G draws for that label."""

    def __init__(
        self, n_samples: int = 64, nrow: int = 8, run_dir: str | None = None, seed: int = 4321, every_n_epochs: int = 1
    ):
        super().__init__(nrow, run_dir, every_n_epochs)
        self.n_samples, self.seed = n_samples, seed
        self._cache: tuple[int, torch.Tensor] | None = None

    def latents(self, pl_module) -> tuple[torch.Tensor, torch.Tensor | None]:
        rng = torch.Generator().manual_seed(self.seed)
        classes = getattr(pl_module, "num_classes", None)
        if not classes:
            return pl_module.draw_latent(self.n_samples, rng), None
        z = pl_module.draw_latent(self.nrow, rng).repeat(classes, 1)
        return z, torch.arange(classes).repeat_interleave(self.nrow)

    def draw(self, trainer, pl_module) -> torch.Tensor:
        return self.images(pl_module)

    def images(self, pl_module) -> torch.Tensor:
        """The grid's images in [0, 1] at the current iteration (generated once per iteration)."""
        if self._cache is None or self._cache[0] != pl_module.iteration:
            z, labels = self.latents(pl_module)
            samples = pl_module.sample(z=z, labels=labels).float().cpu()
            self._cache = (pl_module.iteration, ((samples + 1) / 2).clamp(0, 1))
        return self._cache[1]
