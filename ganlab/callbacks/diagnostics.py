"""Cheap training diagnostics: the history of the logged scalars, a vanishing-gradient warning, and a plot of
the loss curves, D's outputs and the gradient norms at the end of the run.

It reads what the module logs anyway (``train/*`` every ``log_every_n_iterations``), so it costs nothing on
the other iterations. The history is part of the callback's checkpoint state: after a resume the final plot
still covers the whole run.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_warn

from ganlab.callbacks.metrics_json import write_metrics_json
from ganlab.callbacks.sample_grid import log_png, logger_step

PANELS = (
    ("losses", ("train/d_loss", "train/g_loss")),
    ("D outputs", ("train/d_real", "train/d_fake", "train/wasserstein", "train/recon_real", "train/recon_fake")),
    ("gradient norms", ("train/grad_norm_d", "train/grad_norm_g", "train/grad_norm")),
    ("BEGAN control", ("train/k", "train/m_global")),
    ("autoencoder losses", ("train/image_mse", "train/z_mse", "train/z_mse_weighted")),  # the report's figure
    ("latent moments", ("train/z_mean", "train/z_var", "train/z_kurtosis")),
)
#: Panels drawn on a log axis (when every value is positive).
LOG_PANELS = ("gradient norms", "autoencoder losses")


class TrainingDiagnostics(pl.Callback):
    """Warns once when G's gradient norm stays below ``vanishing_threshold`` for ``vanishing_patience``
    iterations (records the iteration in ``metrics.json`` as ``diagnostics.vanishing_gradient_at``) and writes
    ``<run_dir>/curves.png`` at the end of fit."""

    def __init__(
        self,
        run_dir: str | None = None,
        vanishing_threshold: float = 1e-3,
        vanishing_patience: int = 500,
        plot: bool = True,
    ):
        self.run_dir = Path(run_dir) if run_dir else None
        self.vanishing_threshold, self.vanishing_patience, self.plot = vanishing_threshold, vanishing_patience, plot
        self.history: dict[str, list[tuple[int, float]]] = {}
        self._low_since: int | None = None
        self.vanishing_at: int | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        logged = getattr(pl_module, "last_logged", None)
        if logged is None or logged[0] != pl_module.iteration:
            return
        iteration, values = logged
        for name, value in values.items():
            self.history.setdefault(name, []).append((iteration, value))
        self._check_vanishing(trainer, iteration, values.get("train/grad_norm_g"))

    def _check_vanishing(self, trainer, iteration: int, norm: float | None) -> None:
        if norm is None:
            return
        if norm >= self.vanishing_threshold:
            self._low_since = None
            return
        if self._low_since is None:
            self._low_since = iteration
        if self.vanishing_at is None and iteration - self._low_since >= self.vanishing_patience:
            self.vanishing_at = iteration
            rank_zero_warn(
                f"ganlab: G's gradient norm has stayed below {self.vanishing_threshold:g} for "
                f"{iteration - self._low_since} iterations (now {norm:.2e} at iteration {iteration}): vanishing "
                "gradients, D is winning; try loss=non_saturating, model.real_label=0.9 or fewer model.d_steps"
            )
            if self.run_dir is not None and trainer.is_global_zero:
                write_metrics_json(self.run_dir / "metrics.json", {"diagnostics": {"vanishing_gradient_at": iteration}})

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.plot and self.run_dir is not None and trainer.is_global_zero and self.history:
            title = (pl_module.run_config or {}).get("name", "")
            plot_curves(self.history, self.run_dir / "curves.png", title=title)
            log_png(trainer, "diagnostics/curves", self.run_dir / "curves.png", logger_step(pl_module))

    def state_dict(self) -> dict:
        return {
            "history": {k: [list(p) for p in v] for k, v in self.history.items()},
            "low_since": self._low_since,
            "vanishing_at": self.vanishing_at,
        }

    def load_state_dict(self, state: dict) -> None:
        self.history = {k: [(int(i), float(v)) for i, v in pts] for k, pts in state.get("history", {}).items()}
        self._low_since, self.vanishing_at = state.get("low_since"), state.get("vanishing_at")


def plot_curves(history: dict[str, list[tuple[int, float]]], path: Path, title: str = "") -> Path:
    """One panel per group of logged scalars that the run has; gradient norms on a log axis."""
    from matplotlib.figure import Figure  # no pyplot: the process's backend (a notebook's inline) is left alone

    panels = [(label, [n for n in names if n in history]) for label, names in PANELS]
    panels = [(label, names) for label, names in panels if names]
    fig = Figure(figsize=(7, 2.4 * len(panels)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)
    for ax, (label, names) in zip(axes[:, 0], panels, strict=True):
        for name in names:
            its, values = zip(*history[name], strict=True)
            ax.plot(its, values, label=name.removeprefix("train/"), linewidth=1)
        if label in LOG_PANELS and all(v > 0 for n in names for _, v in history[n]):
            ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("iteration")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path
