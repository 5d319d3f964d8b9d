"""Research operations through the real ``ganlab-train``: a SIGTERM mid-run writes a checkpoint and exits 143,
``ckpt_path=last`` continues it bit-exactly in a new run directory, a Slurm job's directory comes from its job id
and a rerun of the job continues its own checkpoint, bad checkpoints are one-line errors that write nothing, and a
failing multirun job leaves ``failed.json`` while the other jobs finish."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from clirun import BIN, run_either, script_env

TIMEOUT_S = 240
RING = [
    "experiment=ring_unrolled",
    "model.unroll_steps=1",
    "data.iterations_per_epoch=50",  # 8 epoch ends (checkpoints, coverage) in a LONG run
    "data.batch_size=64",
    "callbacks.mode_coverage.n_samples=200",
    "callbacks.mode_coverage.plot_every_n_epochs=1000",  # no per-epoch figures: they are not what is tested here
    "trainer.enable_progress_bar=false",
]
LONG = 400  # iterations: long enough that the SIGTERM sent after the first epoch lands mid-run


def run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob(".hydra")) if root.exists() else []


def weights(ckpt: Path) -> dict:
    return torch.load(ckpt, weights_only=True, map_location="cpu")


def describe(proc) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-2500:]}\n--- stderr\n{proc.stderr[-2500:]}"


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A ring run killed with SIGTERM once its first epoch checkpoint exists."""
    cwd = tmp_path_factory.mktemp("interrupted")
    args = [*RING, f"model.max_iterations={LONG}"]
    proc = subprocess.Popen(
        [str(BIN / "ganlab-train"), *args],
        cwd=cwd,
        env=script_env(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + TIMEOUT_S
    while not list((cwd / "outputs").rglob("last.ckpt")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    return cwd, args, subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_sigterm_writes_a_checkpoint_at_an_iteration_boundary_and_exits_143(interrupted):
    cwd, _, proc = interrupted
    assert proc.returncode == 128 + signal.SIGTERM, describe(proc)
    (run_dir,) = run_dirs(cwd / "outputs")
    ckpt = weights(run_dir / "checkpoints" / "last.ckpt")
    iteration = ckpt["ganlab"]["iteration"]
    assert 50 <= iteration < LONG
    assert f"SIGTERM at iteration {iteration}: wrote {run_dir / 'checkpoints' / 'last.ckpt'}" in proc.stdout
    preempted = json.loads((run_dir / "metrics.json").read_text())["preempted"]
    assert preempted == {
        "signal": "SIGTERM",
        "iteration": iteration,
        "phase": "training",
        "checkpoint": str(run_dir / "checkpoints" / "last.ckpt"),
        "requeue": None,
    }


def test_ckpt_path_last_continues_bit_exactly_in_a_new_run_dir(interrupted):
    cwd, args, _ = interrupted
    (first,) = run_dirs(cwd / "outputs")
    first_ckpt = first / "checkpoints" / "last.ckpt"
    before = first_ckpt.read_bytes()
    resumed = run_either(False, "ganlab-train", [*args, "ckpt_path=last"], cwd, TIMEOUT_S)  # main in this process
    assert resumed.returncode == 0, describe(resumed)
    assert f"[ganlab] resuming from {first_ckpt}" in resumed.stdout
    second = next(d for d in run_dirs(cwd / "outputs") if d != first)
    assert first_ckpt.read_bytes() == before  # the interrupted run is left as it was

    straight_cwd = cwd.parent / (cwd.name + "_straight")
    straight = run_either(False, "ganlab-train", args, straight_cwd, TIMEOUT_S)
    assert straight.returncode == 0, describe(straight)
    (straight_dir,) = run_dirs(straight_cwd / "outputs")
    a, b = weights(straight_dir / "checkpoints" / "last.ckpt"), weights(second / "checkpoints" / "last.ckpt")
    assert a["ganlab"]["iteration"] == b["ganlab"]["iteration"] == LONG
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_a_slurm_job_reruns_in_its_own_directory_and_continues_its_checkpoint(tmp_path):
    job = {"SLURM_JOB_ID": "4242"}  # the two runs call ganlab-train's main in this process (no 7-s start-ups)
    first = run_either(False, "ganlab-train", [*RING, "model.max_iterations=40"], tmp_path, TIMEOUT_S, **job)
    assert first.returncode == 0, describe(first)
    run_dir = tmp_path / "outputs" / "train" / "ring_unrolled" / "slurm-4242"
    assert run_dirs(tmp_path / "outputs") == [run_dir]
    again = run_either(False, "ganlab-train", [*RING, "model.max_iterations=60"], tmp_path, TIMEOUT_S, **job)
    assert again.returncode == 0, describe(again)
    assert f"[ganlab] resuming from {run_dir / 'checkpoints' / 'last.ckpt'} (iteration 40)" in again.stdout
    assert weights(run_dir / "checkpoints" / "last.ckpt")["ganlab"]["iteration"] == 60
    assert run_dirs(tmp_path / "outputs") == [run_dir]


# --------------------------------------------------------------------------- bad checkpoints
def bad_checkpoints(interrupted, tmp_path) -> dict[str, tuple[list[str], list[str]]]:
    """name → (argv, words the one-line error must contain)."""
    cwd, _, _ = interrupted
    ring_dir = run_dirs(cwd / "outputs")[0]
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"\x80\x02 definitely not a zip archive" * 10)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes((ring_dir / "checkpoints" / "last.ckpt").read_bytes()[:2000])
    image_model = ["experiment=digits_dcgan", "model.max_iterations=2", "trainer.enable_progress_bar=false"]
    return {
        "another-architecture": (
            [*image_model, f"ckpt_path={ring_dir / 'checkpoints' / 'last.ckpt'}"],
            ["ckpt_path=", "different architecture", "MLPGenerator", "accepted"],
        ),
        "corrupt": ([*RING, f"ckpt_path={corrupt}"], ["ckpt_path=", "not a readable checkpoint", "accepted"]),
        "truncated": ([*RING, f"ckpt_path={truncated}"], ["not a readable checkpoint"]),
        "missing": ([*RING, f"ckpt_path={tmp_path / 'nope.ckpt'}"], ["does not exist", "accepted"]),
        "last-without-runs": (["experiment=grid_unrolled", "ckpt_path=last"], ["ckpt_path=last", "grid_unrolled"]),
    }


@pytest.mark.parametrize("name", ["another-architecture", "corrupt", "truncated", "missing", "last-without-runs"])
def test_bad_checkpoint_is_one_line_exit_2_and_writes_nothing(interrupted, tmp_path, name):
    argv, words = bad_checkpoints(interrupted, tmp_path)[name]
    cwd, _, _ = interrupted
    before = {p: p.stat().st_mtime_ns for p in (cwd / "outputs").rglob("*")}
    real = name == "missing"  # the real console script once; the others call its main in this process
    result = run_either(real, "ganlab-train", argv, cwd, TIMEOUT_S)
    assert result.returncode == 2, describe(result)
    lines = [line for line in result.stderr.splitlines() if line.startswith("ganlab-train: error:")]
    assert len(lines) == 1, describe(result)
    assert all(word in lines[0] for word in words), lines[0]
    assert {p: p.stat().st_mtime_ns for p in (cwd / "outputs").rglob("*")} == before  # nothing new, nothing touched


# --------------------------------------------------------------------------- multirun
def test_a_failing_multirun_job_leaves_failed_json_and_the_others_finish(tmp_path):
    offline = {"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}  # downloads fail at once
    args = ["-m", "experiment=digits_dcgan,mnist_dcgan", "model.max_iterations=3", "data.batch_size=32"]
    data_dir = str(tmp_path / "empty")
    result = run_either(  # main in this process
        False, "ganlab-train", [*args, "trainer.enable_progress_bar=false"], tmp_path, TIMEOUT_S,
        GANLAB_DATA_DIR=data_dir, **offline,
    )  # fmt: skip
    assert result.returncode == 1, describe(result)
    sweep = next((tmp_path / "multirun").iterdir())
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [j.name.split("_")[0] for j in jobs] == ["0", "1"]  # one directory per job, named by its overrides
    assert all((j / ".hydra" / "overrides.yaml").is_file() for j in jobs)
    assert "experiment=digits_dcgan" in jobs[0].name and "experiment=mnist_dcgan" in jobs[1].name
    assert json.loads((jobs[0] / "metrics.json").read_text())["iteration"] == 3
    failed = json.loads((jobs[1] / "failed.json").read_text())
    assert failed["type"] == "DatasetNotFoundError" and "mnist" in failed["error"]
    assert "1 job(s) failed" in result.stderr.splitlines()[-1]


def test_group_overrides_do_not_nest_job_directories(tmp_path):
    args = ["-m", "experiment=digits_dcgan", "model/discriminator=dcgan", "loss=non_saturating,lsgan"]
    args += ["model.max_iterations=2", "data.batch_size=32"]
    result = run_either(False, "ganlab-train", args, tmp_path, TIMEOUT_S)  # main in this process
    assert result.returncode == 0, describe(result)
    sweep = next((tmp_path / "multirun").iterdir())
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 2 and all((j / "metrics.json").is_file() for j in jobs)
    assert all("model.discriminator=dcgan" in j.name for j in jobs)
