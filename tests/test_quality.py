"""Quality regression: the default experiment really covers the ring and the plain GAN really collapses.
Slow (minutes): run by `make test-all`, not by `make test`."""

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build

pytestmark = pytest.mark.slow


def mode_result(tmp_path: Path, experiment: str) -> dict:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"experiment={experiment}",
                "logger=none",
                f"paths.run_dir={tmp_path}",
                "callbacks.checkpoint=null",
                "trainer.enable_progress_bar=false",
            ],
        )
    datamodule, module, trainer = build(cfg)
    trainer.fit(module, datamodule=datamodule)
    return json.loads((tmp_path / "metrics.json").read_text())["mode_coverage"]


def test_ring_unrolled_default_covers_all_modes(tmp_path):
    result = mode_result(tmp_path, "ring_unrolled")
    assert result["modes"] == 8 and result["hq"] >= 30


def test_ring_gan_without_unrolling_misses_modes(tmp_path):
    assert mode_result(tmp_path, "ring_gan")["modes"] <= 4
