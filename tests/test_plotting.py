"""ganlab's figures are drawn without pyplot: a training run inside a notebook must not switch the process's
matplotlib backend to Agg (inline figures would stop showing) nor leave figures open in pyplot's registry."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from ganlab.callbacks import LatentCDFCallback
from ganlab.callbacks.diagnostics import plot_curves
from ganlab.callbacks.mode_coverage import plot_mode_coverage
from ganlab.cli.latent_tasks import plot_curves as plot_restart_curves
from ganlab.data.mixtures import ring_mixture
from ganlab.metrics.modes import mode_coverage


class _Trainer:
    is_global_zero = True


@pytest.fixture
def no_backend_switch(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a ganlab figure called matplotlib.use(): it would switch a notebook's backend")

    monkeypatch.setattr(matplotlib, "use", refuse)
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before  # nothing left open in pyplot


def test_every_figure_is_drawn_without_pyplot(tmp_path, no_backend_switch):
    history = {"train/d_loss": [(1, 0.7), (2, 0.6)], "train/image_mse": [(1, 0.1), (2, 0.05)]}
    assert plot_curves(history, tmp_path / "curves.png").stat().st_size > 1000

    mixture = ring_mixture()
    samples = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    plot_mode_coverage(samples, mixture, mode_coverage(samples, mixture.centers, mixture.std), tmp_path / "m.png", "t")
    assert (tmp_path / "m.png").stat().st_size > 1000

    plot_restart_curves(torch.rand(10, 2, 3) + 0.01, tmp_path / "restarts.png")
    assert (tmp_path / "restarts.png").stat().st_size > 1000

    callback = LatentCDFCallback(n_reference=500, run_dir=str(tmp_path))
    callback.records = [
        {"label": "end", "ks": 0.1, "kurtosis": 3.0, "quantiles": torch.linspace(-2, 2, 513).tolist()},
    ]
    assert callback.plot(_Trainer()).stat().st_size > 1000
