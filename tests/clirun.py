"""Run the real ``ganlab-train`` / ``ganlab-eval`` / ``ganlab-latent`` console scripts in a subprocess with outputs
under ``cwd`` (``run_script``), or their ``main`` in this process with the same argv, environment and working
directory (``run_in_process``: for inputs refused before any training, ~1 s instead of ~7 s of start-up; each
test module keeps one real subprocess case of the same contract)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
#: The classifier-metric callback at test sizes (400 fakes vs 400 reals, KID on 10 subsets of 100).
SMALL_METRICS_CALLBACK = [
    "callbacks/metrics=classifier",
    "callbacks.metrics.n_samples=400",
    "callbacks.metrics.kid_subsets=10",
    "callbacks.metrics.kid_subset_size=100",
]


def run_ganlab_train(args: list[str], cwd: Path, timeout: float, **env) -> subprocess.CompletedProcess:
    return run_script("ganlab-train", args, cwd, timeout, **env)


#: The ``[project.scripts]`` entry points (pyproject.toml).
MAINS = {
    "ganlab-train": "ganlab.cli.train:main",
    "ganlab-eval": "ganlab.cli.evaluate:main",
    "ganlab-latent": "ganlab.cli.latent:main",
    "ganlab-sample": "ganlab.cli.sample:main",
    "ganlab-report": "ganlab.cli.report:main",
}


def script_env(cwd: Path, **env) -> dict[str, str]:
    """The environment of a CLI run in a test: outputs under ``cwd``, one thread, W&B offline."""
    return {**os.environ, **script_settings(cwd, **env)}


def script_settings(cwd: Path, **env) -> dict[str, str]:
    return {
        "GANLAB_OUTPUT_DIR": str(cwd / "outputs"),
        "GANLAB_MULTIRUN_DIR": str(cwd / "multirun"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "WANDB_MODE": "offline",
        **env,
    }


def run_script(script: str, args: list[str], cwd: Path, timeout: float, **env) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(BIN / script), *args], cwd=cwd, env=script_env(cwd, **env), capture_output=True, text=True, timeout=timeout
    )


def run_in_process(script: str, args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    """``script``'s ``main`` called here as the console script would run it; (exit code, stdout, stderr). The
    environment, working directory and ``sys.argv`` are restored afterwards."""
    import contextlib
    import io

    import pytest

    cwd.mkdir(parents=True, exist_ok=True)
    module, function = MAINS[script].split(":")
    out, err, code = io.StringIO(), io.StringIO(), 0
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for key, value in script_settings(cwd, **env).items():
            patch.setenv(key, value)
        patch.chdir(cwd)
        patch.setattr(sys, "argv", [str(BIN / script), *args])
        try:
            getattr(importlib.import_module(module), function)()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return subprocess.CompletedProcess([script, *args], code, out.getvalue(), err.getvalue())


def run_either(real: bool, script: str, args: list[str], cwd: Path, timeout: float, **env):
    """The real console script in a subprocess (``real``) or its ``main`` in this process."""
    if real:
        return run_script(script, args, cwd, timeout, **env)
    return run_in_process(script, args, cwd, **env)
