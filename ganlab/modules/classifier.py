"""``ClassifierModule``: trains the domain classifier behind classifier-FID / KID / IS and mode counting
(``ganlab-train experiment=classifier_mnist``), validating on the data's test split every epoch.

``save_classifier`` / ``load_classifier`` keep the trained network in one small file (weights, the network's
config and its test accuracy) that the metric callbacks and ``ganlab-eval`` load by dataset name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.common.runtime import say
from ganlab.nets.base import eval_mode

CLASSIFIER_FORMAT = "ganlab-classifier/1"
SCALE_IMAGES = 5000


@torch.no_grad()
def feature_rms(net: nn.Module, loader, device) -> float:
    """Root-mean-square of the penultimate features over real training images. The extractor divides by it, so
    features are O(1) per dimension as Inception's are: KID's polynomial kernel (xᵀy / d + 1)³ is then not
    dominated by the features' scale (raw ReLU features with RMS ≈ 4 made KID's subset variance ~10³× larger)."""
    total, count = 0.0, 0
    with eval_mode(net):
        for x, _ in loader:
            f = net.features(x.to(device)).double()
            total += float(f.pow(2).sum())
            count += f.numel()
    return math.sqrt(total / max(count, 1)) or 1.0


class ClassifierModule(pl.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable | None = None,
        eval_split: str = "test",
        eval_batch_size: int = 500,
    ):
        super().__init__()
        self.net = net
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.eval_split, self.eval_batch_size = eval_split, eval_batch_size
        #: Plain-dict run configuration, stored in checkpoints (set by the entry point).
        self.run_config: dict | None = None
        self.iteration = 0

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx: int) -> Tensor:
        x, y = batch
        logits = self.net(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        self.iteration += 1
        self.log_dict({"train/loss": loss, "train/acc": acc}, on_step=True, on_epoch=False, batch_size=len(y))
        return loss

    @torch.no_grad()
    def evaluate(self, loader) -> dict[str, float]:
        """Loss and accuracy over ``loader`` in eval mode (the network's mode is restored)."""
        total, loss, correct = 0, 0.0, 0
        with eval_mode(self.net):
            for x, y in loader:
                x, y = x.to(self.device), y.to(self.device)
                logits = self.net(x)
                loss += float(F.cross_entropy(logits, y, reduction="sum"))
                correct += int((logits.argmax(1) == y).sum())
                total += len(y)
        return {"loss": loss / max(total, 1), "acc": correct / max(total, 1)}

    def on_train_epoch_end(self) -> None:
        """Accuracy on the evaluation split (the test set: no model selection is made on it)."""
        result = self.evaluate(self.trainer.datamodule.eval_dataloader(self.eval_split, self.eval_batch_size))
        self.log_dict({f"val/{k}": v for k, v in result.items()}, on_step=False, on_epoch=True)

    def configure_optimizers(self):
        opt = self.optimizer_factory(self.net.parameters())
        if self.scheduler_factory is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": {"scheduler": self.scheduler_factory(opt), "interval": "epoch"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ganlab"] = {"iteration": self.iteration, "config": self.run_config}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.iteration = int(checkpoint.get("ganlab", {}).get("iteration", 0))


def save_classifier(path: str | os.PathLike, net: nn.Module, net_config: dict, info: dict) -> Path:
    """Write the classifier file atomically: weights, the network's ``_target_`` config, and ``info``
    (dataset, test accuracy, training run)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CLASSIFIER_FORMAT, "net": net_config, "state_dict": net.state_dict(), "info": info}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_classifier(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """(network in eval mode without gradients, info) from a file written by ``save_classifier``."""
    from hydra.utils import instantiate

    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CLASSIFIER_FORMAT:
        raise ValueError(f"{path} is not a ganlab classifier file (format {CLASSIFIER_FORMAT})")
    net = instantiate(payload["net"])
    net.load_state_dict(payload["state_dict"])
    net.eval().requires_grad_(False)
    return net, dict(payload["info"])


class ExportClassifier(pl.Callback):
    """At the end of fit, writes the classifier file (``path``) with the last test-split accuracy, for the metric
    callbacks (``extractor=classifier``) to find by dataset name."""

    def __init__(self, path: str, min_accuracy: float | None = None):
        self.path, self.min_accuracy = Path(path), min_accuracy

    def on_fit_end(self, trainer: pl.Trainer, pl_module: ClassifierModule) -> None:
        if not trainer.is_global_zero:
            return
        accuracy = trainer.callback_metrics.get("val/acc")
        accuracy = None if accuracy is None else float(accuracy)
        config = pl_module.run_config or {}
        scale_loader = trainer.datamodule.eval_dataloader("train", pl_module.eval_batch_size, limit=SCALE_IMAGES)
        info = {
            "dataset": getattr(trainer.datamodule, "name", None),
            "split": pl_module.eval_split,
            "test_accuracy": accuracy,
            "epochs": trainer.current_epoch,
            "run_dir": str(trainer.default_root_dir),
            "feature_scale": feature_rms(pl_module.net, scale_loader, pl_module.device),
        }
        save_classifier(self.path, pl_module.net, config.get("model", {}).get("net", {}), info)
        verdict = ""
        if self.min_accuracy is not None and (accuracy is None or accuracy < self.min_accuracy):
            verdict = f" — BELOW the {self.min_accuracy:.2%} target"
        acc_text = "n/a" if accuracy is None else f"{accuracy:.2%}"
        say(f"[ganlab] classifier ({info['dataset']}, {info['split']} accuracy {acc_text}{verdict}) → {self.path}")
