"""``ganlab.train.build`` from composed configs: loggers and run-directory contents, in process."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from ganlab.config import CONF_DIR
from ganlab.train import build

TINY = [
    "model.max_iterations=4",
    "data.iterations_per_epoch=2",
    "data.batch_size=32",
    "model.unroll_steps=1",
    "callbacks.mode_coverage.n_samples=200",
    "trainer.enable_progress_bar=false",
]


def fit(tmp_path: Path, overrides: list[str]):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, f"paths.run_dir={tmp_path}", *overrides])
    datamodule, module, trainer = build(cfg)
    trainer.fit(module, datamodule=datamodule)
    return module, trainer


def test_wandb_logger_is_offline_by_default_and_writes_run_files(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    import wandb

    try:
        _, trainer = fit(tmp_path, ["logger=wandb"])
        assert trainer.logger.experiment.settings.mode in ("offline", "dryrun")  # wandb calls offline "dryrun"
    finally:
        wandb.finish()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))


def test_csv_logger_records_training_and_mode_metrics(tmp_path):
    fit(tmp_path, ["trainer.log_every_n_steps=1"])
    header = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    for name in (
        "train/d_loss",
        "train/g_loss",
        "train/d_real",
        "train/d_fake",
        "train/grad_norm_g",
        "val/hq",
        "val/modes",
        "val/mode_kl",
    ):
        assert name in header


def test_no_logger(tmp_path):
    module, trainer = fit(tmp_path, ["logger=none"])
    assert trainer.logger is None and module.iteration == 4
