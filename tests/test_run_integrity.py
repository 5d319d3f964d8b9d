"""One run per folder: a live run's folder is locked (and the lock dies with the process, even by kill -9); a
folder holding a run with other settings is refused before anything is written; a resume may change only the
length, logging, callbacks, paths and devices unless ``allow_config_change=true``, and every resume is recorded;
after an allowed change the optimizers (and the checkpoints) use the new hyper-parameters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from clirun import run_in_process
from omegaconf import OmegaConf

from ganlab.common.runtime import RunDirBusy, hold_run_dir, is_busy
from ganlab.preflight.resume_rules import changes, check_config_change, derived_from_changeable

RING = [
    "experiment=ring_gan",
    "data.iterations_per_epoch=10",
    "data.batch_size=64",
    "callbacks.mode_coverage.n_samples=200",
    "trainer.enable_progress_bar=false",
    "logger=none",
]


def train(cwd: Path, run_dir: Path, *extra: str):
    return run_in_process("ganlab-train", [*RING, f"hydra.run.dir={run_dir}", *extra], cwd)


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("ganlab-train: error")]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("finished")
    run_dir = cwd / "run"
    result = train(cwd, run_dir, "model.max_iterations=20")
    assert result.returncode == 0, result.stderr[-2000:]
    return cwd, run_dir


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("optim.generator.lr=0.01", "optim.generator.lr 0.001 → 0.01"),
        ("loss=hinge", "loss.objective._target_ 'ganlab.losses.NonSaturating' → 'ganlab.losses.Hinge'"),
        ("seed=3", "seed 0 → 3"),
        ("model.unroll_steps=2", "model.unroll_steps 0 → 2"),
        ("data.batch_size=32", "data.batch_size 64 → 32"),
    ],
)
def test_a_finished_run_folder_refuses_other_settings_and_stays_untouched(finished, change, named):
    cwd, run_dir = finished
    before = snapshot(run_dir)
    result = train(cwd, run_dir, "model.max_iterations=20", change)
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert f"hydra.run.dir={run_dir} was trained with other settings" in line and named in line
    assert "allow_config_change=true" in line
    assert snapshot(run_dir) == before


def test_the_same_settings_continue_and_every_resume_is_recorded(tmp_path):
    run_dir = tmp_path / "run"
    assert train(tmp_path, run_dir, "model.max_iterations=10").returncode == 0
    longer = train(tmp_path, run_dir, "model.max_iterations=20")  # the schedule follows the length
    assert longer.returncode == 0, longer.stderr[-2000:]
    assert "changed: model.max_iterations" in longer.stdout and "optim.scheduler_g.total_iters" in longer.stdout
    (entry,) = [json.loads(line) for line in (run_dir / "resumes.jsonl").read_text().splitlines()]
    assert entry["iteration"] == 10 and entry["changed"]["model.max_iterations"] == [10, 20]
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["ganlab"]["iteration"] == 20


def test_an_allowed_lr_change_is_what_the_optimizer_uses_and_what_the_checkpoint_says(tmp_path):
    run_dir = tmp_path / "run"
    assert train(tmp_path, run_dir, "model.max_iterations=10", "optim=adam").returncode == 0
    refused = train(tmp_path, run_dir, "model.max_iterations=20", "optim=adam", "optim.generator.lr=0.005")
    assert refused.returncode == 2 and "optim.generator.lr" in error_lines(refused)[0]
    allowed = [*("model.max_iterations=20", "optim=adam", "optim.generator.lr=0.005"), "allow_config_change=true"]
    result = train(tmp_path, run_dir, *allowed)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    g_group = saved["optimizer_states"][0]["param_groups"][0]
    assert g_group["lr"] == saved["ganlab"]["config"]["optim"]["generator"]["lr"] == 0.005
    entries = [json.loads(line) for line in (run_dir / "resumes.jsonl").read_text().splitlines()]
    assert entries[-1]["changed"]["optim.generator.lr"] == [0.001, 0.005]


def test_an_allowed_lr_change_rescales_a_decaying_schedule():
    """Unit level: current lr and base lr both scale by new / old (linear decay at its half-way point)."""
    from ganlab.modules.base import GenerativeModule

    net = torch.nn.Linear(2, 2)
    old = torch.optim.Adam(net.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.LinearLR(old, 1.0, 0.01, total_iters=10)
    for _ in range(5):
        old.step()
        schedule.step()
    halfway = old.param_groups[0]["lr"]
    fresh = torch.optim.Adam(net.parameters(), lr=4e-3, betas=(0.0, 0.9))
    torch.optim.lr_scheduler.LinearLR(fresh, 1.0, 0.01, total_iters=10)

    class Stub:
        trainer = type("T", (), {"optimizers": [old]})()
        _configured_groups = [[{k: v for k, v in fresh.param_groups[0].items() if k != "params"}]]

        def lr_schedulers(self):
            return schedule

    GenerativeModule._apply_configured_hyperparameters(Stub())
    assert old.param_groups[0]["lr"] == pytest.approx(4 * halfway)
    assert schedule.base_lrs == [4e-3] and old.param_groups[0]["betas"] == (0.0, 0.9)
    schedule.step()
    assert old.param_groups[0]["lr"] < 4 * halfway  # the schedule goes on decaying from the new level


HOLD = (
    "import sys, time; from ganlab.common.runtime import hold_run_dir; hold_run_dir(sys.argv[1]); "
    "print('held', flush=True); time.sleep(120)"
)


def holder(run_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_runs_folder_is_refused_and_a_killed_runs_lock_is_gone(tmp_path):
    run_dir = tmp_path / "run"
    proc = holder(run_dir)
    try:
        assert is_busy(run_dir) == f"pid {proc.pid} on {os.uname().nodename}"
        start = time.monotonic()
        result = train(tmp_path, run_dir, "model.max_iterations=5")
        assert result.returncode == 2
        (line,) = error_lines(result)
        assert f"hydra.run.dir={run_dir} is in use by a live run (pid {proc.pid}" in line
        assert not (run_dir / ".hydra").exists() and time.monotonic() - start < 30
        with pytest.raises(RunDirBusy):
            hold_run_dir(run_dir)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert is_busy(run_dir) is None  # the kernel released the kill -9'd process's lock
    assert train(tmp_path, run_dir, "model.max_iterations=5").returncode == 0


def test_the_change_rules():
    saved = {"seed": 0, "model": {"max_iterations": 10, "lr": 1}, "paths": {"run_dir": "/a"}, "cb": "/a/x"}
    current = {"seed": 1, "model": {"max_iterations": 20, "lr": 1}, "paths": {"run_dir": "/b"}, "cb": "/b/x"}
    allowed, refused = changes(saved, current)
    assert allowed == {"model.max_iterations": [10, 20]}  # paths below the run directory follow it
    assert refused == {"seed": [0, 1]}  # cb: the same path below the other run directory
    cfg = OmegaConf.create(
        {"model": {"max_iterations": 5}, "optim": {"total": "${model.max_iterations}"}, "s": "${seed}"}
    )
    assert derived_from_changeable(cfg, ["optim.total", "s"]) == {"optim.total"}
    assert check_config_change(None, cfg, "x") == {}


def test_a_checkpoint_naming_a_moved_class_reads_under_its_new_path(tmp_path):
    """Issue #18 moved BEGANLoss (losses.py → modules/began.py) and the loggers: checkpoints written before still
    restore and resume (their recorded run config is read with the new paths)."""
    from hydra.utils import get_method, instantiate

    from ganlab.composition.checkpoints import MOVED_TARGETS, forget_checkpoint, read_checkpoint
    from ganlab.modules.began import BEGANLoss

    old = {"loss": {"_target_": "ganlab.losses.BEGANLoss", "gamma": 0.25, "lambda_k": 0.01}}
    old["logger"] = {"_target_": "ganlab.loggers.wandb_logger", "tags": [{"_target_": "ganlab.loggers.build_logger"}]}
    old["model"] = {"generator": {"_target_": "ganlab.nets.MLPGenerator", "init": "default", "init_gain": None}}
    path = tmp_path / "old.ckpt"
    torch.save({"state_dict": {}, "ganlab": {"config": old}}, path)
    forget_checkpoint()
    config = read_checkpoint(path)["ganlab"]["config"]
    loss = instantiate(config["loss"])
    assert isinstance(loss, BEGANLoss) and (loss.gamma, loss.lambda_k) == (0.25, 0.01)
    assert config["logger"]["_target_"] == "ganlab.composition.loggers.wandb_logger"
    assert config["logger"]["tags"][0]["_target_"] == "ganlab.composition.loggers.build_logger"
    assert config["model"]["generator"]["spectral_norm"] is False  # issue #19's net option, off as before
    for new in MOVED_TARGETS.values():
        assert callable(get_method(new)), new


def test_a_checkpoint_with_the_single_penalty_reads_as_named_penalties(tmp_path):
    """Issue #19 turned GANLoss's ``penalty`` into named ``penalties``: a wgan_gp checkpoint written before resumes
    with today's loss=wgan_gp (no settings change found) and a plain one with an empty set."""
    from hydra import compose, initialize_config_dir

    import ganlab.composition.schemas  # noqa: F401
    from ganlab.common.errors import CONF_DIR
    from ganlab.composition.checkpoints import forget_checkpoint, read_checkpoint

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        today = {
            name: OmegaConf.to_container(compose("train", overrides=[f"loss={name}"]).loss)
            for name in ("wgan_gp", "dragan", "hinge")
        }
    old = {
        "wgan_gp": {
            "_target_": "ganlab.losses.GANLoss",
            "name": "wgan_gp",
            "objective": {"_target_": "ganlab.losses.Wasserstein"},
            "penalty": {"_target_": "ganlab.penalties.GradientPenalty", "weight": 10.0},
            "constraint": None,
        },
        "dragan": {
            "_target_": "ganlab.losses.GANLoss",
            "name": "dragan",
            "objective": {"_target_": "ganlab.losses.NonSaturating"},
            "penalty": {"_target_": "ganlab.penalties.DraganPenalty", "weight": 10.0, "c": 0.5},
            "constraint": None,
        },
        "hinge": {
            "_target_": "ganlab.losses.GANLoss",
            "name": "hinge",
            "objective": {"_target_": "ganlab.losses.Hinge"},
            "penalty": None,
            "constraint": None,
        },
    }
    for name, loss in old.items():
        path = tmp_path / f"{name}.ckpt"
        torch.save({"state_dict": {}, "ganlab": {"config": {"loss": loss}}}, path)
        forget_checkpoint()
        saved = read_checkpoint(path)["ganlab"]["config"]
        assert changes(saved, {"loss": today[name]}) == ({}, {}), name


def test_a_second_order_checkpoint_from_before_issue_29_keeps_its_surrogate(tmp_path):
    """A run written before issue #29 trained second order against G's loss on fakes only: its recorded config reads
    as ``unroll_surrogate=fake_only``, so a resume with today's default (game) is a settings change, refused unless
    allowed; first-order and k = 0 runs, where every surrogate is the same, read as today's default."""
    from ganlab.composition.checkpoints import forget_checkpoint, read_checkpoint

    cases = {(5, "second_order"): "fake_only", (5, "first_order"): "game", (0, "second_order"): "game"}
    for (steps, mode), expected in cases.items():
        model = {"_target_": "ganlab.modules.GANModule", "unroll_steps": steps, "unroll_mode": mode}
        path = tmp_path / f"{steps}_{mode}.ckpt"
        torch.save({"state_dict": {}, "ganlab": {"config": {"model": model}}}, path)
        forget_checkpoint()
        saved = read_checkpoint(path)["ganlab"]["config"]
        assert saved["model"]["unroll_surrogate"] == expected, (steps, mode)
        today = {"model": {**model, "unroll_surrogate": "game"}}
        refused = changes(saved, today)[1]
        assert refused == ({"model.unroll_surrogate": ["fake_only", "game"]} if expected == "fake_only" else {})
