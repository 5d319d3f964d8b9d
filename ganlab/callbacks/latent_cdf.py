"""The latent distribution of an encoder against N(0, 1) during training (course report 000, "Non-Adversarial
Networks Q2": the CDF of z at the beginning of epochs 1, 2, 3, … beside the CDF of 10 000 normal samples).

Before the first batch of each chosen epoch and at the end of fit, the encoder (eval mode) codes ``n_images`` images of
``split``; all their code entries are pooled. Logged: ``val/latent_ks`` (Kolmogorov–Smirnov statistic against the
exact N(0, 1) CDF), ``val/latent_mean``, ``val/latent_var``, ``val/latent_kurtosis``. ``samples/latent_cdf.png``
has one panel per recorded point: the codes' empirical CDF (red) and that of ``n_reference`` N(0, 1) samples
(blue). The final values go to ``metrics.json`` as ``latent``.

Nothing here touches training: the evaluation loader leaves the global RNG alone, the encoder is evaluated without
gradients and put back in its mode, and the history is part of the checkpoint (a resumed run's figure covers the
whole run).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch

from ganlab.callbacks.metrics_json import write_metrics_json
from ganlab.callbacks.sample_grid import logger_step
from ganlab.moments import ks_normal, standardized_moments
from ganlab.nets.base import eval_mode

QUANTILES = 513  # stored per record: enough for a smooth CDF curve


@torch.no_grad()
def encode_split(pl_module, datamodule, split: str, n_images: int, batch_size: int, seed: int) -> torch.Tensor:
    """The encoder's codes (n, d) of a fixed seeded subset of a split, in eval mode."""
    with eval_mode(pl_module.encoder) as encoder:
        loader = datamodule.eval_dataloader(split, batch_size=batch_size, limit=n_images, seed=seed)
        return torch.cat([encoder(images.to(pl_module.device)).float().cpu() for images, _ in loader])


class LatentCDFCallback(pl.Callback):
    def __init__(
        self,
        epochs: Sequence[int] = (0, 1, 2),
        every_n_epochs: int | None = None,
        n_images: int = 1000,
        n_reference: int = 10_000,
        split: str = "test",
        batch_size: int = 500,
        seed: int = 0,
        run_dir: str | None = None,
    ):
        """``epochs``: 0-based epochs whose start is recorded (epoch 0 = before any training); ``every_n_epochs``:
        also every n-th epoch start. The end of fit is always recorded."""
        if every_n_epochs is not None and not (isinstance(every_n_epochs, int) and every_n_epochs >= 1):
            raise ValueError(f"every_n_epochs={every_n_epochs!r} is invalid; accepted: null or an integer >= 1")
        self.epochs, self.every_n_epochs = {int(e) for e in epochs}, every_n_epochs
        self.n_images, self.n_reference, self.split = n_images, n_reference, split
        self.batch_size, self.seed = batch_size, seed
        self.run_dir = Path(run_dir) if run_dir else None
        #: One dict per recorded point: label, epoch, iteration, ks, mean, var, kurtosis, quantiles.
        self.records: list[dict] = []

    def wanted(self, epoch: int) -> bool:
        return epoch in self.epochs or bool(self.every_n_epochs and epoch % self.every_n_epochs == 0)

    def measure(self, trainer, pl_module, label: str) -> dict:
        codes = encode_split(pl_module, trainer.datamodule, self.split, self.n_images, self.batch_size, self.seed)
        mean, var, kurtosis = (float(v) for v in standardized_moments(codes.double(), "pooled"))
        levels = torch.linspace(0, 1, QUANTILES, dtype=torch.float64)
        return {
            "label": label,
            "epoch": trainer.current_epoch,
            "iteration": pl_module.iteration,
            "n_codes": codes.numel(),
            "ks": ks_normal(codes),
            "mean": mean,
            "var": var,
            "kurtosis": kurtosis,
            "quantiles": torch.quantile(codes.double().reshape(-1), levels).tolist(),
        }

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        """Before an epoch's first batch. (Not ``on_train_epoch_start``: Lightning skips that hook for the epoch
        after a checkpoint written at an epoch's last batch, so a resumed run would miss the record.)"""
        epoch = trainer.current_epoch
        if (
            batch_idx != 0
            or not self.wanted(epoch)
            or any(r["epoch"] == epoch and r["label"] != "end" for r in self.records)
        ):
            return
        record = self.measure(trainer, pl_module, f"start of epoch {epoch + 1}")
        self.records.append(record)
        pl_module.log_dict(self.scalars(record), on_step=False, on_epoch=True)
        self.plot(trainer)

    def on_fit_end(self, trainer, pl_module) -> None:
        record = self.measure(trainer, pl_module, "end")
        self.records = [r for r in self.records if r["label"] != "end"] + [record]
        scalars = self.scalars(record)
        # Lightning's self.log is closed at fit end: the final values replace the last epoch start's wherever the
        # run's summary reads them (callback_metrics for RunSummary, whichever of the two callbacks runs first)
        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in scalars.items()})
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            logger.log_metrics(scalars, step=logger_step(pl_module))
        self.plot(trainer)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            final = {k: v for k, v in record.items() if k not in ("quantiles", "label")}
            write_metrics_json(self.run_dir / "metrics.json", {"latent": {**final, "split": self.split}, **scalars})

    @staticmethod
    def scalars(record: dict) -> dict[str, float]:
        return {f"val/latent_{k}": record[k] for k in ("ks", "mean", "var", "kurtosis")}

    def plot(self, trainer) -> Path | None:
        if self.run_dir is None or not trainer.is_global_zero or not self.records:
            return None
        from matplotlib.figure import Figure  # no pyplot: the process's backend (a notebook's inline) is left alone

        reference = torch.randn(self.n_reference, generator=torch.Generator().manual_seed(self.seed)).sort().values
        ref_cdf = torch.arange(1, self.n_reference + 1) / self.n_reference
        levels = torch.linspace(0, 1, QUANTILES)
        n = len(self.records)
        fig = Figure(figsize=(3.2 * n, 2.8))
        axes = fig.subplots(1, n, squeeze=False, sharey=True)
        for ax, record in zip(axes[0], self.records, strict=True):
            ax.plot(reference.numpy(), ref_cdf.numpy(), color="tab:blue", label=f"N(0, 1), {self.n_reference}")
            ax.plot(record["quantiles"], levels.numpy(), color="tab:red", label="encoder z")
            ax.set_xlim(-4, 4)
            ax.set_title(f"{record['label']}\nKS {record['ks']:.3f}, kurt {record['kurtosis']:.2f}", fontsize=9)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("CDF")
        axes[0][0].legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        path = self.run_dir / "samples" / "latent_cdf.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=90)
        return path

    def state_dict(self) -> dict:
        return {"records": [dict(r) for r in self.records]}

    def load_state_dict(self, state: dict) -> None:
        self.records = [dict(r) for r in state.get("records", [])]
