"""One benchmark job: a preset composed with overrides, fitted through ``ganlab.cli.train.build`` on one thread in a
temporary run directory, whose outputs are read before the directory goes."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fit_in_temp_dir(overrides: list[str], read: Callable[[Path], Any]) -> tuple[Any, float]:
    """(``read(run_dir)``, seconds of ``trainer.fit``) of the ``train`` config composed with ``overrides``."""
    import torch
    from hydra import compose, initialize_config_dir

    from ganlab.common.errors import CONF_DIR
    from ganlab.composition.build import build

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp, initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, f"paths.run_dir={tmp}"])
        datamodule, module, trainer = build(cfg)
        start = time.perf_counter()
        trainer.fit(module, datamodule=datamodule)
        elapsed = time.perf_counter() - start
        return read(Path(tmp)), elapsed
