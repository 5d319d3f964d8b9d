"""``hydra/launcher=slurm``: the launcher config composes (fast), and the requeue demo passes on a real one-node Slurm
started by ``experiments/slurm/cluster.sh`` (slow: ``make test-all`` or ``pytest -m slow tests/e2e/test_slurm.py``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from ganlab.common.errors import CONF_DIR, PRIMARY
from ganlab.preflight.command_line import preflight

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "experiments" / "slurm" / "cluster.sh"
DEMO = REPO / "experiments" / "slurm" / "demo.py"
LAUNCHER = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
SWEEP = ["-m", "hydra/launcher=slurm", "experiment=ring_unrolled", "loss=non_saturating,lsgan"]


def test_slurm_launcher_composes_and_passes_preflight():
    assert preflight(SWEEP) == SWEEP
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(PRIMARY, overrides=SWEEP[1:3], return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    launcher = cfg.hydra.launcher
    assert launcher._target_ == LAUNCHER
    assert launcher.partition == "debug"
    assert launcher.additional_parameters == {"open-mode": "append"}
    assert launcher.submitit_folder == f"{cfg.hydra.sweep.dir}/.submitit/%j"
    assert (launcher.gpus_per_node, launcher.tasks_per_node, launcher.cpus_per_task) == (0, 1, 1)
    assert launcher.max_num_timeout >= 1  # a timed-out job is requeued (and resumes from last.ckpt)
    # The launcher can be built from it (Hydra does the same before submitting); its sbatch setup lines survive.
    built = instantiate(launcher)
    assert type(built).__name__ == "SlurmLauncher"
    assert any("SLURM_RESTART_COUNT" in line for line in built.params["setup"])


def run(cmd: list[str], timeout: float, **env) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env})


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_requeue_demo_on_a_real_slurm(tmp_path):
    if shutil.which("sbatch") is None:
        pytest.skip("sbatch not installed: experiments/slurm/cluster.sh start (as root) installs a one-node Slurm")
    was_running = run([str(CLUSTER), "status"], 30).returncode == 0
    if not was_running and os.geteuid() != 0:
        pytest.skip("no Slurm cluster running, and starting one (experiments/slurm/cluster.sh start) needs root")
    started = run([str(CLUSTER), "start"], 300)
    assert started.returncode == 0, started.stdout + started.stderr
    conf = started.stdout.strip().splitlines()[-1].removeprefix("export SLURM_CONF=")
    try:
        demo = run([sys.executable, str(DEMO), "--workdir", str(tmp_path)], 1100, SLURM_CONF=conf)
    finally:
        if not was_running:
            run([str(CLUSTER), "stop"], 60)
    print(demo.stdout)
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-3000:]
    assert "[demo] PASS in" in demo.stdout
