"""Mode coverage on a 2-D mixture every epoch: logs ``val/hq``, ``val/modes``, ``val/mode_kl`` and
saves a scatter + density plot of the generated samples over the true modes (every ``plot_every_n_epochs``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytorch_lightning as pl
import torch

from ganlab.callbacks.metrics_json import write_metrics_json
from ganlab.callbacks.sample_grid import log_png, logger_step
from ganlab.metrics.modes import ModeCoverage, mode_coverage


def plot_mode_coverage(samples, mixture, result: ModeCoverage, path: Path, title: str) -> None:
    """Samples over the true modes, and their density (a 120 × 120 histogram drawn as one image). A fixed layout:
    matplotlib's constrained layout measured every tick label and cost ≈ 60 % of the drawing."""
    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: the process's backend (a notebook's inline) is left alone

    pts = samples.detach().cpu().numpy()
    centers = mixture.centers.cpu().numpy()
    lim = float(abs(centers).max()) * 1.6 + 0.5
    fig = Figure(figsize=(9, 4.4))
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.08, top=0.86, wspace=0.18)
    ax_s, ax_d = fig.subplots(1, 2)
    ax_s.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.5, color="tab:blue", label="G(z)")
    ax_s.scatter(centers[:, 0], centers[:, 1], s=40, marker="x", color="tab:red", label="modes")
    ax_s.legend(loc="upper right", fontsize=8)
    ax_s.set_title("samples")
    density, _, _ = np.histogram2d(pts[:, 0], pts[:, 1], bins=120, range=[[-lim, lim], [-lim, lim]])
    ax_d.imshow(density.T, origin="lower", extent=(-lim, lim, -lim, lim), cmap="magma", interpolation="nearest")
    ax_d.set_title("density")
    for ax in (ax_s, ax_d):
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
    fig.suptitle(f"{title} — modes {result.modes}/{result.n_modes}, HQ {result.hq:.1f} %")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def mode_coverage_message(datamodule) -> str:
    name = getattr(datamodule, "name", type(datamodule).__name__)
    return (
        f"callbacks.mode_coverage needs a 2-D mixture but data={name}; accepted: data=ring|grid, or "
        "callbacks=images (or callbacks.mode_coverage=null) for image data"
    )


class ModeCoverageCallback(pl.Callback):
    """Evaluates ``n_samples`` generator samples from a *fixed* latent batch (its own RNG, so training
    noise is not consumed) against ``trainer.datamodule.mixture``."""

    def __init__(
        self,
        n_samples: int = 2500,
        n_std: float = 3.0,
        run_dir: str | None = None,
        seed: int = 1234,
        plot_every_n_epochs: int = 1,
    ):
        if not (isinstance(plot_every_n_epochs, int) and plot_every_n_epochs >= 1):
            raise ValueError(f"plot_every_n_epochs={plot_every_n_epochs!r} is invalid; accepted: an integer >= 1")
        self.n_samples, self.n_std = n_samples, n_std
        self.plot_every_n_epochs = plot_every_n_epochs
        self.run_dir = Path(run_dir) if run_dir else None
        self.plot_dir = self.run_dir / "samples" if self.run_dir else None
        self.seed = seed
        self.last: ModeCoverage | None = None
        self._cache: tuple[int, torch.Tensor, ModeCoverage] | None = None

    def setup(self, trainer: pl.Trainer, pl_module, stage: str) -> None:
        from ganlab.common.errors import ConfigError

        if not hasattr(trainer.datamodule, "mixture"):
            raise ConfigError(mode_coverage_message(trainer.datamodule))

    def evaluate(self, trainer: pl.Trainer, pl_module) -> tuple[torch.Tensor, ModeCoverage]:
        """Samples and coverage at the current iteration (computed once: fit end reuses the last epoch's)."""
        if self._cache is not None and self._cache[0] == pl_module.iteration:
            return self._cache[1], self._cache[2]
        z = pl_module.draw_latent(self.n_samples, torch.Generator().manual_seed(self.seed))
        samples = pl_module.sample(z=z)
        mixture = trainer.datamodule.mixture
        result = mode_coverage(samples, mixture.centers, mixture.std, self.n_std)
        self._cache = (pl_module.iteration, samples, result)
        return samples, result

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        samples, result = self.evaluate(trainer, pl_module)
        self.last = result
        values = {"val/hq": result.hq, "val/modes": float(result.modes), "val/mode_kl": result.mode_kl}
        # no mode captured: no KL to report; absent rather than NaN (a NaN breaks loggers' charts and means)
        pl_module.log_dict({k: v for k, v in values.items() if math.isfinite(v)}, on_step=False, on_epoch=True)
        plot_now = (trainer.current_epoch + 1) % self.plot_every_n_epochs == 0
        if self.plot_dir is not None and trainer.is_global_zero and plot_now:
            name = f"modes_epoch{trainer.current_epoch:04d}_iter{pl_module.iteration:07d}.png"
            plot_mode_coverage(
                samples,
                trainer.datamodule.mixture,
                result,
                self.plot_dir / name,
                f"iteration {pl_module.iteration}",
            )
            log_png(trainer, "modes/samples", self.plot_dir / name, logger_step(pl_module))

    def on_fit_end(self, trainer: pl.Trainer, pl_module) -> None:
        if self.run_dir is None or not trainer.is_global_zero:
            return
        samples, result = self.evaluate(trainer, pl_module)
        plot_mode_coverage(
            samples,
            trainer.datamodule.mixture,
            result,
            self.plot_dir / "modes_final.png",
            f"final (iteration {pl_module.iteration})",
        )
        log_png(trainer, "modes/samples", self.plot_dir / "modes_final.png", logger_step(pl_module))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_metrics_json(self.run_dir / "metrics.json", {"mode_coverage": result.as_dict()})
