"""A sweep folder belongs to one sweep (issue #32): a re-run with other jobs or settings is refused before a byte of
the folder changes; the sweep's own command with ``hydra.sweep.dir=<it>`` finishes it — finished jobs untouched
(contents and mtimes), an interrupted job (``kill -9`` of the process group mid-job) resumed bit-exactly, missing jobs
run (``hydra_plugins/ganlab_sweeper``, ``ganlab/preflight/sweep_rules.py``)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import torch
from clirun import BIN, run_either, run_script, script_env

from ganlab.common.run_state import FINISHED, INTERRUPTED, NEW, run_state

TINY = ["experiment=ring_gan", "model.max_iterations=10", "data.iterations_per_epoch=5",
        "trainer.enable_progress_bar=false", "callbacks.mode_coverage.n_samples=100"]  # fmt: skip


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root``: (sha1, mtime in ns)."""
    return {str(p.relative_to(root)): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def job_dirs(sweep: Path) -> list[Path]:
    return sorted((p for p in sweep.iterdir() if p.is_dir()), key=lambda p: int(p.name.split("_")[0]))


def test_job_folders_name_the_seed_and_a_rerun_with_other_jobs_changes_nothing(tmp_path):
    sweep = tmp_path / "sweep"
    first = run_script("ganlab-train", ["-m", "seed=0,1", *TINY, f"hydra.sweep.dir={sweep}"], tmp_path, 300)
    assert first.returncode == 0, first.stderr[-3000:]
    assert [p.name.split(",")[-2] for p in job_dirs(sweep)] == ["seed=0", "seed=1"]
    before = snapshot(sweep)
    for changed in (["-m", "seed=1,0", *TINY], ["-m", "seed=0,1", *TINY, "loss=hinge"], ["-m", "seed=0,2", *TINY]):
        refused = run_either(False, "ganlab-train", [*changed, f"hydra.sweep.dir={sweep}"], tmp_path, 300)
        assert refused.returncode == 2, refused.stderr[-3000:]
        (line,) = [x for x in refused.stderr.splitlines() if x.strip()]
        assert line.startswith(f"ganlab-train: error: hydra.sweep.dir={sweep} holds another job ") and "nothing" in line
        assert snapshot(sweep) == before
    # the sweep's own command: both jobs finished, skipped, not a byte or an mtime changed
    again = run_either(False, "ganlab-train", ["-m", "seed=0,1", *TINY, f"hydra.sweep.dir={sweep}"], tmp_path, 300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "2 jobs; 2 finished (skipped), 0 interrupted (resumed), 0 failed (rerun), 0 not started" in again.stdout
    assert snapshot(sweep) == before


def test_a_killed_sweep_finishes_with_one_command_and_the_interrupted_job_resumes_exactly(tmp_path):
    slow = ["experiment=ring_unrolled", "model.max_iterations=120", "data.iterations_per_epoch=40",
            "callbacks.last_checkpoint.every_n_iterations=20", "callbacks.last_checkpoint.every_n_minutes=null",
            "callbacks.mode_coverage.n_samples=100", "trainer.enable_progress_bar=false", "logger=none"]  # fmt: skip
    sweep = tmp_path / "sweep"
    command = [str(BIN / "ganlab-train"), "-m", "seed=0,1,2", *slow, f"hydra.sweep.dir={sweep}"]
    env = script_env(tmp_path)
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # kill -9 the whole group once job 1 has a checkpoint, mid-training
        ckpts = list(sweep.glob("1_*/checkpoints/last.ckpt"))
        if ckpts:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    jobs = job_dirs(sweep)
    assert [run_state(p, 120) for p in jobs] == [FINISHED, INTERRUPTED], [p.name for p in jobs]
    finished_job = snapshot(jobs[0])

    resumed = run_script("ganlab-train", command[1:], tmp_path, 600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "3 jobs; 1 finished (skipped), 1 interrupted (resumed), 0 failed (rerun), 1 not started (run)" in (
        resumed.stdout
    )
    jobs = job_dirs(sweep)
    assert [run_state(p, 120) for p in jobs] == [FINISHED] * 3
    assert snapshot(jobs[0]) == finished_job  # untouched, mtimes included

    # job 1 against the same training run uninterrupted
    reference = tmp_path / "reference"
    single = run_script("ganlab-train", ["seed=1", *slow, f"hydra.run.dir={reference}"], tmp_path, 600)
    assert single.returncode == 0, single.stderr[-3000:]
    got = torch.load(jobs[1] / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    want = torch.load(reference / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)


def test_run_state_reads_a_folder(tmp_path):
    assert run_state(tmp_path / "none", 10) == NEW
    (tmp_path / "job" / ".hydra").mkdir(parents=True)
    assert run_state(tmp_path / "job", 10) == NEW
    (tmp_path / "job" / "checkpoints").mkdir()
    assert run_state(tmp_path / "job", 10) == INTERRUPTED
    (tmp_path / "job" / "metrics.json").write_text('{"iteration": 6, "preempted": {}}')
    assert run_state(tmp_path / "job", 10) == INTERRUPTED
    (tmp_path / "job" / "metrics.json").write_text('{"iteration": 10}')
    assert run_state(tmp_path / "job", 10) == FINISHED
    (tmp_path / "job" / "metrics.json").write_text('{"iteration": 1')  # cut by a crash
    assert run_state(tmp_path / "job", 10) == INTERRUPTED
    (tmp_path / "job" / "failed.json").write_text("{}")
    assert run_state(tmp_path / "job", 10) == "failed"
