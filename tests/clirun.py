"""Run the real ``ganlab-train`` / ``ganlab-eval`` console scripts in a subprocess with outputs under ``cwd``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run_ganlab_train(args: list[str], cwd: Path, timeout: float, **env) -> subprocess.CompletedProcess:
    return run_script("ganlab-train", args, cwd, timeout, **env)


def run_ganlab_eval(args: list[str], cwd: Path, timeout: float, **env) -> subprocess.CompletedProcess:
    return run_script("ganlab-eval", args, cwd, timeout, **env)


def script_env(cwd: Path, **env) -> dict[str, str]:
    """The environment of a CLI run in a test: outputs under ``cwd``, one thread, W&B offline."""
    return {
        **os.environ,
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
