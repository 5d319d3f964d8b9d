"""Diagnostics: the vanishing-gradient warning, training curves (also across a resume), sample grids with one
row per class for conditional generators, and images sent to an image-taking logger."""

import json
import warnings
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from PIL import Image

from ganlab.callbacks import SampleGridCallback, TrainingDiagnostics
from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build

TINY = [
    "model.max_iterations=6",
    "data.iterations_per_epoch=3",
    "data.batch_size=32",
    "callbacks.mode_coverage.n_samples=200",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "logger=none",
]


def fit(run_dir: Path, overrides: list[str], ckpt_path: str | None = None):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, f"paths.run_dir={run_dir}", *overrides])
    datamodule, module, trainer = build(cfg)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    diagnostics = next(c for c in trainer.callbacks if isinstance(c, TrainingDiagnostics))
    return module, diagnostics


def test_vanishing_gradient_warns_once_after_patience_and_records_the_iteration(tmp_path):
    overrides = ["callbacks.diagnostics.vanishing_threshold=1e9", "callbacks.diagnostics.vanishing_patience=2"]
    with pytest.warns(UserWarning, match="vanishing gradients") as record:
        fit(tmp_path, overrides)
    assert sum("vanishing gradients" in str(w.message) for w in record) == 1
    # norms are logged at iterations 1, 2, 3, …: below the threshold since 1, so the warning fires at 3
    assert json.loads((tmp_path / "metrics.json").read_text())["diagnostics"] == {"vanishing_gradient_at": 3}


def test_healthy_gradients_do_not_warn(tmp_path):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _, diagnostics = fit(tmp_path, ["callbacks.diagnostics.vanishing_patience=2"])
    assert diagnostics.vanishing_at is None
    assert not any("vanishing gradients" in str(w.message) for w in record)
    assert "diagnostics" not in json.loads((tmp_path / "metrics.json").read_text())


def test_curves_cover_every_logged_iteration_and_survive_a_resume(tmp_path):
    first, _ = fit(tmp_path / "a", ["model.max_iterations=3"])
    assert first.iteration == 3 and (tmp_path / "a" / "curves.png").is_file()
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    _, diagnostics = fit(tmp_path / "b", [], ckpt_path=str(ckpt))
    for name in ("train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "train/grad_norm_g"):
        assert [i for i, _ in diagnostics.history[name]] == [1, 2, 3, 4, 5, 6], name
    image = Image.open(tmp_path / "b" / "curves.png")
    assert image.size[0] > 300 and image.size[1] > 300


def test_wasserstein_runs_plot_the_estimate(tmp_path):
    _, diagnostics = fit(tmp_path, ["loss=wgan", "optim=rmsprop"])
    w = diagnostics.history["train/wasserstein"]
    real, fake = diagnostics.history["train/d_real"], diagnostics.history["train/d_fake"]
    assert [v for _, v in w] == pytest.approx([r - f for (_, r), (_, f) in zip(real, fake, strict=True)], abs=1e-6)


class _Conditional(torch.nn.Module):
    """Draws a constant image whose brightness encodes the label: row r of the grid must be label r."""

    num_classes = 3

    def forward(self, z, labels):
        return (labels.float() / 2 * 2 - 1)[:, None, None, None].expand(-1, 1, 4, 4) + 0 * z.sum()


class _Module:
    latent_dim, iteration, num_classes = 5, 0, 3

    def __init__(self):
        self.generator = _Conditional()

    def draw_latent(self, n, generator):  # GenerativeModule's: the prior's latents from the callback's own RNG
        return torch.randn(n, self.latent_dim, generator=generator)

    def sample(self, z, labels):
        return self.generator(z, labels)


def test_conditional_grid_has_one_row_per_class():
    grid = SampleGridCallback(nrow=4)
    z, labels = grid.latents(_Module())
    assert labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    torch.testing.assert_close(z[:4], z[4:8])  # the same z in every row: columns differ, rows differ by label
    images = grid.images(_Module())
    assert images.shape == (12, 1, 4, 4)
    assert images.view(3, 4, -1).mean(-1).tolist() == [[0.0] * 4, [0.5] * 4, [1.0] * 4]


def test_sample_grid_is_sent_to_wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    import wandb

    monkeypatch.setenv("WANDB_SILENT", "true")
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(
                "train",
                overrides=[
                    "data=digits",
                    "model=gan_mlp",
                    "callbacks=images",
                    "logger=wandb",
                    "model.max_iterations=2",
                    "data.batch_size=16",
                    "trainer.enable_progress_bar=false",
                    f"paths.run_dir={tmp_path}",
                ],
            )
        datamodule, module, trainer = build(cfg)
        trainer.fit(module, datamodule=datamodule)
    finally:
        wandb.finish()
    media = list((tmp_path / "wandb").glob("offline-run-*/files/media/images/samples/grid_*.png"))
    assert media, "no sample-grid image in the offline W&B run"
