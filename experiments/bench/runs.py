"""Benchmark jobs: a preset composed with overrides, fitted through ``ganlab.cli.train.build`` on one thread in a
temporary run directory whose outputs are read before the directory goes (``fit_in_temp_dir``); or a ``ganlab-train``
process on one thread in a run folder of its own, read and not re-run once finished, resumed exactly when interrupted
(``train_in_folder``, ``finished``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def finished(folder: Path, iterations: int, or_more: bool = False) -> dict | None:
    """The run's metrics.json when it finished at ``iterations`` (``or_more``: at ``iterations`` or later, a run
    trained past a budget that is read at it), else None."""
    path = folder / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text())
    done = metrics.get("iteration") or 0
    return metrics if done == iterations or (or_more and done > iterations) else None


def train_in_folder(folder: Path, overrides: list[str], iterations: int) -> dict | None:
    """``ganlab-train *overrides`` (``model.max_iterations=iterations``) on one thread into ``folder`` unless it holds
    a finished run (a folder with a ``last.ckpt`` resumes from it); the output goes to ``<folder>.log``. Returns the
    finished run's metrics.json, or None."""
    metrics = finished(folder, iterations)
    if metrics is None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        command = [sys.executable, "-m", "ganlab.cli.train", *overrides, f"model.max_iterations={iterations}",
                   f"hydra.run.dir={folder}", "trainer.enable_progress_bar=false"]  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True)
        with folder.with_name(folder.name + ".log").open("a") as log:
            subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
        metrics = finished(folder, iterations)
    return metrics
