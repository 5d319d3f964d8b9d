"""Originals and their reconstructions (an autoencoder's D(E(x))) in alternating rows, every epoch and at the end:
``samples/recon_epochEEEE_iterIIIIIII.png`` and ``samples/recon_final.png`` (the course report's "Original |
autoEncoder(image)" table); also sent to the logger when it takes images."""

from __future__ import annotations

import torch

from ganlab.callbacks.sample_grid import GridCallback


class ReconstructionGridCallback(GridCallback):
    prefix = "recon"
    key = "samples/reconstructions"
    pad_value = 1.0

    def __init__(
        self,
        n_images: int = 16,
        nrow: int = 8,
        split: str = "test",
        seed: int = 0,
        run_dir: str | None = None,
        every_n_epochs: int = 1,
    ):
        super().__init__(nrow, run_dir, every_n_epochs)
        self.n_images, self.split, self.seed = n_images, split, seed
        self._originals: torch.Tensor | None = None

    def originals(self, datamodule) -> torch.Tensor:
        """A fixed seeded subset of ``split`` (loaded once)."""
        if self._originals is None:
            self._originals = datamodule.eval_batch(self.split, self.n_images, self.seed)[0]
        return self._originals

    def draw(self, trainer, pl_module) -> torch.Tensor:
        """Rows of ``nrow`` originals, each followed by a row of their reconstructions, in [0, 1]."""
        x = self.originals(trainer.datamodule)
        recon = pl_module.reconstruct(x).float().cpu()
        rows = []
        for start in range(0, x.shape[0], self.nrow):
            rows += [x[start : start + self.nrow], recon[start : start + self.nrow]]
        return ((torch.cat(rows) + 1) / 2).clamp(0, 1)
