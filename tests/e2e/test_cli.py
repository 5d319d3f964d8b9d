"""End to end: the real ``ganlab-train`` console script in a subprocess (tiny sizes, CPU)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from clirun import run_either
from omegaconf import OmegaConf

TIMEOUT_S = 240
TINY = [
    "data.iterations_per_epoch=20",
    "data.batch_size=64",
    "model.unroll_steps=2",
    "trainer.enable_progress_bar=false",
]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def ganlab_train(args: list[str], cwd: Path, real: bool = True) -> Result:
    """The real console script (``real``), or its ``main`` in this process (same argv, environment, directory)."""
    proc = run_either(real, "ganlab-train", args, cwd, TIMEOUT_S)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_dirs(root: Path) -> list[Path]:
    """Run directories (those with a ``.hydra`` folder) under ``root``."""
    return sorted(p.parent for p in root.rglob(".hydra")) if root.exists() else []


def describe(result: Result) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"


# --------------------------------------------------------------------------- bad inputs
BAD_ARGV = [
    pytest.param(["loss=bogus"], id="unknown-loss"),
    pytest.param(["data=nope"], id="unknown-data"),
    pytest.param(["model.unroll_steps=-1"], id="negative-unroll"),
    pytest.param(["model.d_steps=0"], id="zero-d-steps"),
    pytest.param(["model.unroll_mode=third_order"], id="bad-unroll-mode"),
    pytest.param(["model.foo=1"], id="unknown-key"),
    pytest.param(["ckpt_path=/nonexistent.ckpt"], id="missing-ckpt"),
    pytest.param(["-m", "loss=minimax,bogus"], id="multirun-bad-loss"),
]


@pytest.mark.parametrize("argv", BAD_ARGV)
def test_bad_input_is_one_line_error_and_no_run_dir(tmp_path, argv):
    real = argv == ["loss=bogus"]  # the real console script once; the others call its main in this process
    result = run_either(real, "ganlab-train", argv, tmp_path, TIMEOUT_S)
    assert result.returncode == 2, describe(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, describe(result)
    assert lines[-1].startswith("ganlab-train: error:"), describe(result)
    assert len(lines) == 1, f"stderr is not a single line:\n{result.stderr}"
    assert not (tmp_path / "outputs").exists(), list((tmp_path / "outputs").rglob("*"))
    assert not (tmp_path / "multirun").exists(), list((tmp_path / "multirun").rglob("*"))


# --------------------------------------------------------------------------- a tiny real run
@dataclass
class Run:
    result: Result
    root: Path
    run_dirs: list[Path]  # snapshot right after this run (robust to test order)
    metrics_bytes: bytes | None = None

    @property
    def run_dir(self) -> Path:
        assert len(self.run_dirs) == 1, self.run_dirs
        return self.run_dirs[0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("cli")
    result = ganlab_train(["model.max_iterations=40", *TINY], root)
    assert result.returncode == 0, describe(result)
    dirs = run_dirs(root / "outputs")
    metrics = dirs[0] / "metrics.json" if len(dirs) == 1 else None
    return Run(result, root, dirs, metrics.read_bytes() if metrics and metrics.exists() else None)


@pytest.fixture(scope="module")
def resumed_run(tiny_run) -> Run:
    before = set(run_dirs(tiny_run.root / "outputs"))
    last = tiny_run.run_dir / "checkpoints" / "last.ckpt"
    assert last.is_file()
    result = ganlab_train([f"ckpt_path={last}", "model.max_iterations=80", *TINY], tiny_run.root, real=False)
    assert result.returncode == 0, describe(result)
    new = [d for d in run_dirs(tiny_run.root / "outputs") if d not in before]
    return Run(result, tiny_run.root, new)


def test_tiny_run_layout(tiny_run):
    assert len(tiny_run.run_dirs) == 1, tiny_run.run_dirs
    run_dir = tiny_run.run_dir
    assert run_dir.parent == tiny_run.root / "outputs" / "train" / "ring_unrolled"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((run_dir / "checkpoints").glob("best-*.ckpt"))
    assert (run_dir / "samples" / "modes_final.png").is_file()
    assert list((run_dir / "samples").glob("modes_epoch*.png"))
    assert (run_dir / "csv" / "metrics.csv").is_file()
    assert (run_dir / "metrics.json").is_file()


def test_tiny_run_metrics_json(tiny_run):
    metrics = json.loads(tiny_run.metrics_bytes)
    assert metrics["iteration"] == 40
    coverage = metrics["mode_coverage"]
    assert {"hq", "modes", "mode_kl", "n_samples", "n_modes"} <= set(coverage)
    assert coverage["n_samples"] == 2500
    assert coverage["n_modes"] == 8
    assert 0 <= coverage["modes"] <= 8
    assert 0.0 <= coverage["hq"] <= 100.0


def test_tiny_run_metrics_json_is_strict_json(tiny_run):
    """metrics.json must be standard JSON (no NaN/Infinity tokens), like its top-level values."""

    def reject(token):
        raise ValueError(f"non-standard JSON constant {token} in metrics.json")

    json.loads(tiny_run.metrics_bytes, parse_constant=reject)


def test_tiny_run_prints_summary(tiny_run):
    lines = [line for line in tiny_run.result.stdout.splitlines() if "modes" in line and "HQ" in line]
    assert lines, tiny_run.result.stdout


def test_tiny_run_last_checkpoint(tiny_run):
    ckpt = torch.load(tiny_run.run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    state = ckpt["ganlab"]
    assert type(state["config"]) is dict
    assert state["config"]["name"] == "ring_unrolled"
    assert state["config"]["model"]["unroll_steps"] == 2
    assert state["iteration"] == 40, f"last.ckpt holds iteration {state['iteration']}, the run ended at 40"


def test_resume_writes_new_run_dir(tiny_run, resumed_run):
    assert len(resumed_run.run_dirs) == 1, resumed_run.run_dirs
    assert resumed_run.run_dir != tiny_run.run_dir
    assert (tiny_run.run_dir / "metrics.json").read_bytes() == tiny_run.metrics_bytes
    metrics = json.loads((resumed_run.run_dir / "metrics.json").read_text())
    assert metrics["iteration"] == 80


def test_resume_last_checkpoint(resumed_run):
    ckpt = torch.load(resumed_run.run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert ckpt["ganlab"]["iteration"] == 80, (
        f"last.ckpt holds iteration {ckpt['ganlab']['iteration']}, the run ended at 80"
    )


# --------------------------------------------------------------------------- the report's flags
def test_report_flags(tmp_path):
    result = ganlab_train(
        [
            "-k",
            "0",
            "-ds",
            "2",
            "-gs",
            "1",
            "model.max_iterations=4",
            "data.iterations_per_epoch=2",
            "data.batch_size=32",
            "callbacks.mode_coverage.n_samples=100",
            "trainer.enable_progress_bar=false",
        ],
        tmp_path,
        real=False,  # main in this process: the argv translation is main's, the real script runs in tiny_run
    )
    assert result.returncode == 0, describe(result)
    dirs = run_dirs(tmp_path / "outputs")
    assert len(dirs) == 1, dirs
    cfg = OmegaConf.load(dirs[0] / ".hydra" / "config.yaml")
    assert cfg.model.unroll_steps == 0
    assert cfg.model.d_steps == 2
    assert cfg.model.g_steps == 1
    metrics = json.loads((dirs[0] / "metrics.json").read_text())
    assert metrics["iteration"] == 4
    assert metrics["mode_coverage"]["n_samples"] == 100
