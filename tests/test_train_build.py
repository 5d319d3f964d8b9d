"""``ganlab.cli.train.build`` from composed configs: loggers and run-directory contents, in process."""

import csv
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build

TINY = [
    "model.max_iterations=4",
    "data.iterations_per_epoch=2",
    "data.batch_size=32",
    "model.unroll_steps=1",
    "callbacks.mode_coverage.n_samples=200",
    "trainer.enable_progress_bar=false",
]


TINY_IMAGES = ["model.max_iterations=4", "data.batch_size=16", "trainer.enable_progress_bar=false"]


def fit(tmp_path: Path, overrides: list[str], tiny=TINY):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*tiny, f"paths.run_dir={tmp_path}", *overrides])
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
        csv_logger, wandb_logger = trainer.loggers  # the CSV record stays beside W&B
        assert type(csv_logger).__name__ == "CSVHistoryLogger" and (tmp_path / "csv" / "metrics.csv").is_file()
        assert wandb_logger.experiment.settings.mode in ("offline", "dryrun")  # wandb calls offline "dryrun"
    finally:
        wandb.finish()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))


def test_csv_logger_records_training_and_mode_metrics(tmp_path):
    fit(tmp_path, ["trainer.log_every_n_steps=1"])
    rows = list(csv.DictReader((tmp_path / "csv" / "metrics.csv").open()))
    for name in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "train/grad_norm_g", "val/hq",
                 "val/modes"):  # fmt: skip
        assert name in rows[0]
    modes = [float(r["val/modes"]) for r in rows if r.get("val/modes")]
    kl = [r.get("val/mode_kl", "") for r in rows if r.get("val/modes")]
    # no mode captured: no KL logged (absent, not NaN); with a mode, a number
    assert all((k == "") == (m == 0) for m, k in zip(modes, kl, strict=True)) and "nan" not in str(kl).lower()


def test_no_logger(tmp_path):
    module, trainer = fit(tmp_path, ["logger=none"])
    assert trainer.logger is None and module.iteration == 4


def test_runs_are_deterministic_without_filling_new_tensors(tmp_path, monkeypatch):
    """trainer.deterministic=true gives deterministic algorithms, but not torch's NaN fill of every new tensor (a
    debugging aid that costs ≈ 5 % of a ring iteration)."""
    monkeypatch.setattr(torch.utils.deterministic, "fill_uninitialized_memory", True)  # torch's default
    before = torch.are_deterministic_algorithms_enabled()
    try:
        module, _ = fit(tmp_path, ["logger=none"])
        assert torch.are_deterministic_algorithms_enabled() and module.iteration == 4
        assert torch.utils.deterministic.fill_uninitialized_memory is False
    finally:
        torch.use_deterministic_algorithms(before)


def test_image_run_on_digits_writes_sample_grids(tmp_path):
    module, _ = fit(tmp_path, ["data=digits", "model=gan_mlp", "callbacks=images"], TINY_IMAGES)
    assert module.iteration == 4
    grids = sorted((tmp_path / "samples").glob("grid_*.png"))
    assert (tmp_path / "samples" / "grid_final.png") in grids and len(grids) >= 2
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


def test_network_data_shape_mismatch_fails_at_start_up_in_one_line(tmp_path):
    from ganlab.common.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        fit(
            tmp_path,
            ["data=digits", "model=gan_mlp", "callbacks=images", "model.generator.out_shape=[1,32,32]"],
            TINY_IMAGES,
        )
    message = str(info.value)
    assert "\n" not in message and "model.generator.out_shape=[1, 32, 32]" in message and "[1, 28, 28]" in message


def test_mode_coverage_on_image_data_is_refused_in_one_line(tmp_path):
    from ganlab.common.errors import ConfigError

    with pytest.raises(ConfigError, match="data=digits; accepted: data=ring|grid"):
        fit(tmp_path, ["data=digits", "model=gan_mlp"], TINY_IMAGES)


@pytest.mark.parametrize("data", sorted(p.stem for p in (Path(CONF_DIR) / "data").glob("*.yaml")))
def test_every_data_option_declares_the_shape_it_produces(data):
    from hydra.utils import instantiate

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={data}", "paths.data_root=/nonexistent"])
    datamodule = instantiate(cfg.data)  # constructing does not touch files
    assert tuple(datamodule.sample_shape) == tuple(cfg.data.shape)


@pytest.mark.parametrize(
    ("setting", "terminal", "shown"),
    [("auto", False, False), ("auto", True, True), ("true", False, True), ("false", True, False)],
)
def test_the_progress_bar_shows_on_a_terminal_only_by_default(tmp_path, monkeypatch, setting, terminal, shown):
    import sys

    from ganlab.preflight.checks import validate

    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        default = compose("train", overrides=["experiment=ring_gan"])
        cfg = compose(
            "train",
            overrides=[
                "experiment=ring_gan",
                f"trainer.enable_progress_bar={setting}",
                f"paths.run_dir={tmp_path}",
                "logger=none",
            ],
        )
    assert default.trainer.enable_progress_bar == "auto"
    validate(cfg)
    _, _, trainer = build(cfg)
    assert (trainer.progress_bar_callback is not None) == shown


def test_the_default_profiler_is_a_reused_no_op_and_a_configured_one_is_kept(tmp_path):
    from pytorch_lightning.profilers import SimpleProfiler

    from ganlab.composition.profiler import NullProfiler

    _, trainer = fit(tmp_path / "default", [])
    assert type(trainer.profiler) is NullProfiler
    assert trainer.profiler.profile("a") is trainer.profiler.profile("b")  # one context, no generator per hook
    _, trainer = fit(tmp_path / "simple", ["+trainer.profiler=simple"])
    assert type(trainer.profiler) is SimpleProfiler
    assert any("on_train_batch_end" in action for action in trainer.profiler.recorded_durations)


def test_tensorboard_beside_csv_gets_the_numbers_and_the_pictures_at_their_iteration(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    overrides = ["logger=tensorboard", "callbacks.mode_coverage.plot_every_n_epochs=1", "trainer.log_every_n_steps=1"]
    module, trainer = fit(tmp_path, overrides)
    assert [type(lg).__name__ for lg in trainer.loggers] == ["CSVHistoryLogger", "TensorBoardLogger"]
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0}).Reload()
    tags = events.Tags()
    assert "val/hq" in tags["scalars"] and {"modes/samples", "diagnostics/curves"} <= set(tags["images"])
    hq_steps = [e.step for e in events.Scalars("val/hq")]
    picture_steps = [e.step for e in events.Images("modes/samples")]
    assert hq_steps == [1, 3] and picture_steps == [1, 3, 3]  # each epoch's picture on its numbers' step, + the final
    assert all("nan" not in str(e.value).lower() for e in events.Scalars("val/hq"))


def test_grids_are_saved_every_n_epochs_and_a_bad_interval_is_named(tmp_path):
    from types import SimpleNamespace

    from ganlab.callbacks.sample_grid import GridCallback

    class Plain(GridCallback):
        def draw(self, trainer, pl_module):
            return torch.zeros(4, 3, 8, 8)

    grid = Plain(nrow=2, run_dir=str(tmp_path), every_n_epochs=3)
    for epoch in range(7):
        trainer = SimpleNamespace(current_epoch=epoch, is_global_zero=True, loggers=[])
        grid.on_train_epoch_end(trainer, SimpleNamespace(iteration=10 * (epoch + 1)))
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "grid_epoch0002_iter0000030.png",
        "grid_epoch0005_iter0000060.png",
    ]
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match=rf"every_n_epochs={bad!r} is invalid; accepted: an integer >= 1"):
            Plain(nrow=2, every_n_epochs=bad)
