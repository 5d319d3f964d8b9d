"""A run's CSV history survives resumes in its folder (issue #33): killed (``kill -9``) twice and resumed each time,
``csv/metrics.csv`` holds exactly the rows of the same run uninterrupted — the rows before each checkpoint kept, the
rows a crash logged after it dropped (the resumed run logs them again)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import torch
from clirun import BIN, run_script, script_env

from ganlab.composition.csv_history import earlier_rows

RUN = ["experiment=ring_unrolled", "model.max_iterations=160", "data.iterations_per_epoch=40",
       "callbacks.last_checkpoint.every_n_iterations=20", "callbacks.last_checkpoint.every_n_minutes=null",
       "callbacks.mode_coverage.n_samples=200", "trainer.log_every_n_steps=5",
       "trainer.enable_progress_bar=false"]  # fmt: skip


def rows(folder: Path) -> list[dict]:
    return list(csv.DictReader((folder / "csv" / "metrics.csv").open()))


def iteration_of(ckpt: Path) -> int:
    try:
        return torch.load(ckpt, map_location="cpu", weights_only=True)["ganlab"]["iteration"]
    except Exception:  # being replaced
        return -1


def kill_after(folder: Path, tmp_path: Path, at_least: int) -> None:
    """Start the run in ``folder`` and kill -9 it once its last.ckpt is at ``at_least`` iterations or more."""
    proc = subprocess.Popen([str(BIN / "ganlab-train"), *RUN, f"hydra.run.dir={folder}"], cwd=tmp_path,
                            env=script_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    ckpt = folder / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt.is_file() and iteration_of(ckpt) >= at_least:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < iteration_of(ckpt) < 160, "the run was not interrupted mid-training"


def test_a_run_killed_twice_has_the_csv_rows_of_an_uninterrupted_one(tmp_path):
    reference = tmp_path / "reference"
    done = run_script("ganlab-train", [*RUN, f"hydra.run.dir={reference}"], tmp_path, 600)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = tmp_path / "run"
    kill_after(folder, tmp_path, 20)
    kill_after(folder, tmp_path, 80)  # auto_resume: the same command continues the folder's run
    resumed = run_script("ganlab-train", [*RUN, f"hydra.run.dir={folder}"], tmp_path, 600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got, want = rows(folder), rows(reference)
    assert [r["step"] for r in got] == [r["step"] for r in want]
    assert got == want


def test_earlier_rows_stop_at_the_checkpoints_iteration(tmp_path):
    (tmp_path / "run" / "csv").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints").mkdir()
    lines = ["epoch,step,train/d_loss,val/hq", "0,9,0.5,", "0,19,,1.0", "1,20,0.4,", "1,29,0.3,"]
    (tmp_path / "run" / "csv" / "metrics.csv").write_text("\n".join(lines) + "\n")
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    torch.save({"state_dict": {}, "ganlab": {"iteration": 20}}, ckpt)
    assert [r["step"] for r in earlier_rows(str(ckpt))] == ["9", "19"]  # 20 iterations done: steps 0 … 19
    assert earlier_rows(None) == []
