"""Exact resume: N iterations straight vs an interruption by a real signal part-way (the preemption checkpoint),
then a resume to N → every weight and buffer (G and D, or encoder and decoder) and the optimizer states
bit-identical on CPU.

Covers the randomness a GAN step draws: shuffled image batches (StatefulDataLoader), the ring's sampled batches,
latents and penalty interpolates (the module's noise generator), first-order unrolling, dropout (the global RNG).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir

from ganlab.callbacks import LatentCDFCallback, RunCheckpoint
from ganlab.callbacks.run_checkpoint import Preempted
from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build

N = 12
COMMON = [
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "logger=none",
    f"model.max_iterations={N}",
]
# digits: 225 of the 1 797 images at batch 32 → 7 batches an epoch, shuffled
IMAGES = ["data.batch_size=32", "+data.train_fraction=0.125", "callbacks.sample_grid.n_samples=16"]
IMAGES += ["callbacks.diagnostics=null"]
CASES = {
    # 4 iterations an epoch: the interruption (iteration 6) is mid-epoch, the run crosses epoch boundaries
    "ring_unrolled_k2": ["experiment=ring_unrolled", "model.unroll_steps=2", "data.iterations_per_epoch=4"]
    + ["data.batch_size=64", "callbacks.mode_coverage.n_samples=200"],
    "digits_dcgan_wgan_gp": ["experiment=digits_dcgan", "loss=wgan_gp", "model.discriminator.norm=layer", *IMAGES],
    "digits_mlp_dropout_k2": ["experiment=digits_dcgan", "model=gan_mlp", "model.unroll_steps=2", *IMAGES],
    # the kurtosis autoencoder: its regulariser's weight changes at the epoch boundary (7 batches an epoch), the
    # latent-CDF callback measures at epoch starts (also when the resumed run re-enters its epoch)
    "digits_kurtosis_ae": ["experiment=digits_kurtosis_ae", "callbacks.latent_cdf.n_images=100", *IMAGES],
    # issue #19's state: G's moving average, a lazy R1 (every 4th iteration), LeCam's anchors, spectral norm's u, v
    "digits_dcgan_ema_r1_lecam": ["experiment=digits_dcgan", "loss=hinge", "+loss/penalty=[r1,lecam]"]
    + ["loss.penalties.r1.every=4", "+model/ema=default", "model.discriminator.spectral_norm=true", *IMAGES]
    + ["model.discriminator.norm=none"],  # gradient penalties need per-sample gradients (no BatchNorm)
    # issue #34's few-shot state: ADA's ops at a fixed p, D's overfitting scored every epoch, a 224-image subset of
    # its own seed (7 batches an epoch)
    "digits_dcgan_bgc_d_overfit": ["experiment=digits_dcgan", "+loss/augment=bgc", "+callbacks/d_overfit=default"]
    + ["callbacks.d_overfit.n_images=64", "data.batch_size=32", "+data.train_size=224", "+data.subset_seed=5"]
    + ["callbacks.sample_grid.n_samples=16", "callbacks.diagnostics=null"],
}


class SignalAt(pl.Callback):
    """Sends a real signal to this process at the end of iteration ``at`` (before the preemption callback runs)."""

    def __init__(self, at: int, signum: int):
        self.at, self.signum = at, signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.iteration == self.at:
            os.kill(os.getpid(), self.signum)


def fit(run_dir: Path, overrides: list[str], ckpt_path=None, signal_at: tuple[int, int] | None = None):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*COMMON, f"paths.run_dir={run_dir}", *overrides])
    datamodule, module, trainer = build(cfg)
    if signal_at:
        trainer.callbacks.insert(0, SignalAt(*signal_at))
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    return module, trainer


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def optimizer_tensors(trainer) -> dict:
    out = {}
    for i, opt in enumerate(trainer.optimizers):
        for pid, state in opt.state_dict()["state"].items():
            out.update({f"{i}.{pid}.{k}": v for k, v in state.items() if torch.is_tensor(v)})
    return out


#: (case, iteration of the interruption): mid-epoch, and right after an epoch's last batch (ring: 4 an epoch,
#: digits: 7 an epoch)
POINTS = [
    ("ring_unrolled_k2", 6),
    ("ring_unrolled_k2", 8),
    ("digits_dcgan_wgan_gp", 7),
    ("digits_dcgan_wgan_gp", 9),
    ("digits_mlp_dropout_k2", 6),
    ("digits_kurtosis_ae", 5),
    ("digits_kurtosis_ae", 7),
    ("digits_dcgan_ema_r1_lecam", 6),
    ("digits_dcgan_bgc_d_overfit", 9),
]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """The uninterrupted N-iteration run of a case (computed once per case)."""
    runs = {}

    def get(case: str):
        if case not in runs:
            module, trainer = fit(tmp_path_factory.mktemp(case), CASES[case])
            assert module.iteration == N
            runs[case] = (module, trainer)
        return runs[case]

    return get


@pytest.mark.parametrize(("case", "at"), POINTS)
def test_interrupted_and_resumed_run_is_bit_identical_to_a_straight_run(tmp_path, straight_run, case, at):
    straight, straight_trainer = straight_run(case)

    with pytest.raises(Preempted) as exit_info:
        fit(tmp_path / "a", CASES[case], signal_at=(at, signal.SIGTERM))
    assert exit_info.value.code == 128 + signal.SIGTERM
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, weights_only=True, map_location="cpu")
    assert saved["ganlab"]["iteration"] == at
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["preempted"]["signal"] == "SIGTERM"

    resumed, resumed_trainer = fit(tmp_path / "b", CASES[case], ckpt_path=str(ckpt))
    assert resumed.iteration == N
    assert_identical(straight.state_dict(), resumed.state_dict())  # every network's weights and buffers
    assert_identical(optimizer_tensors(straight_trainer), optimizer_tensors(resumed_trainer))
    assert torch.equal(straight.noise.get_state(), resumed.noise.get_state())
    # the latent-CDF history continues across the resume: the same records, measured on the same weights
    assert latent_records(straight_trainer) == latent_records(resumed_trainer)


def latent_records(trainer) -> list:
    return [c.records for c in trainer.callbacks if isinstance(c, LatentCDFCallback)]


def test_without_the_saved_global_rng_dropout_runs_diverge(tmp_path, straight_run):
    """The dropout case needs the checkpointed global RNG: dropping it from the checkpoint breaks exactness."""
    overrides = CASES["digits_mlp_dropout_k2"]
    straight, _ = straight_run("digits_mlp_dropout_k2")
    with pytest.raises(Preempted):
        fit(tmp_path / "a", overrides, signal_at=(6, signal.SIGUSR1))
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, weights_only=True, map_location="cpu")
    del saved["ganlab"]["torch_rng_state"]
    torch.save(saved, tmp_path / "no_rng.ckpt")
    torch.manual_seed(12345)  # what the global RNG holds at resume time is then arbitrary
    resumed, _ = fit(tmp_path / "b", overrides, ckpt_path=str(tmp_path / "no_rng.ckpt"))
    assert resumed.iteration == N
    gen_a, gen_b = straight.generator.state_dict(), resumed.generator.state_dict()
    assert any(not torch.equal(gen_a[k], gen_b[k]) for k in gen_a)


def test_preemption_handlers_are_restored_after_fit(tmp_path):
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)}
    _, trainer = fit(tmp_path, CASES["ring_unrolled_k2"] + ["model.max_iterations=2"])
    assert any(isinstance(c, RunCheckpoint) for c in trainer.callbacks)
    assert {s: signal.getsignal(s) for s in before} == before


def test_resuming_a_finished_run_trains_no_further(tmp_path, straight_run):
    straight, _ = straight_run("ring_unrolled_k2")
    fit(tmp_path / "a", CASES["ring_unrolled_k2"])
    final = tmp_path / "a" / "checkpoints" / "last.ckpt"
    assert torch.load(final, weights_only=True)["ganlab"]["iteration"] == N
    again, _ = fit(tmp_path / "b", CASES["ring_unrolled_k2"], ckpt_path=str(final))
    assert again.iteration == N
    assert_identical(straight.generator.state_dict(), again.generator.state_dict())


# ---------------------------------------------------------------------------------------------- crash-exact resume
class CopyLastAt(pl.Callback):
    """At the start of iteration ``at`` (before anything of that iteration runs), copies ``last.ckpt`` as it is on
    disk: what a ``kill -9`` at that moment would leave behind."""

    def __init__(self, last: Path, copy: Path, at: int):
        self.last, self.copy, self.at = last, copy, at

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration == self.at:
            import shutil

            shutil.copy(self.last, self.copy)


#: (case, extra overrides, kill moment, the iteration the newest checkpoint holds then): epoch-end checkpoints
#: (ring 4, digits 7 batches an epoch), and interval ones (every 5 iterations) mid-epoch.
KILLS = [
    ("ring_unrolled_k2", [], 5, 4),
    ("ring_unrolled_k2", [], 9, 8),
    ("digits_dcgan_wgan_gp", [], 8, 7),
    ("digits_mlp_dropout_k2", ["callbacks.last_checkpoint.every_n_iterations=5"], 6, 5),
    ("digits_kurtosis_ae", [], 8, 7),
    ("digits_kurtosis_ae", ["callbacks.last_checkpoint.every_n_iterations=5"], 11, 10),
]


@pytest.mark.parametrize(("case", "extra", "kill_at", "holds"), KILLS)
def test_a_kill_at_any_moment_resumes_bit_exactly_from_the_newest_checkpoint(
    tmp_path, straight_run, case, extra, kill_at, holds
):
    straight, straight_trainer = straight_run(case)
    copy = tmp_path / "killed.ckpt"
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*COMMON, f"paths.run_dir={tmp_path / 'a'}", *CASES[case], *extra])
    datamodule, module, trainer = build(cfg)
    trainer.callbacks.insert(0, CopyLastAt(tmp_path / "a" / "checkpoints" / "last.ckpt", copy, kill_at))
    trainer.fit(module, datamodule=datamodule)
    assert torch.load(copy, weights_only=True, map_location="cpu")["ganlab"]["iteration"] == holds

    resumed, resumed_trainer = fit(tmp_path / "b", [*CASES[case], *extra], ckpt_path=str(copy))
    assert resumed.iteration == N
    assert_identical(straight.state_dict(), resumed.state_dict())
    assert_identical(optimizer_tensors(straight_trainer), optimizer_tensors(resumed_trainer))
    assert torch.equal(straight.noise.get_state(), resumed.noise.get_state())


def test_ctrl_c_writes_the_checkpoint_and_resumes_exactly(tmp_path, straight_run):
    straight, _ = straight_run("ring_unrolled_k2")
    with pytest.raises(Preempted) as exit_info:
        fit(tmp_path / "a", CASES["ring_unrolled_k2"], signal_at=(6, signal.SIGINT))
    assert exit_info.value.code == 128 + signal.SIGINT
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=True)["ganlab"]["iteration"] == 6
    resumed, _ = fit(tmp_path / "b", CASES["ring_unrolled_k2"], ckpt_path=str(ckpt))
    assert_identical(straight.state_dict(), resumed.state_dict())


def test_the_previous_generation_is_kept_beside_last(tmp_path):
    fit(tmp_path, CASES["ring_unrolled_k2"] + ["callbacks.last_checkpoint.every_n_iterations=3"])
    ckpts = tmp_path / "checkpoints"
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["ganlab"]["iteration"] == N
    # saved at 3, 4 (epoch end), 6, 8, 9, 12: the generation before the final one is iteration 9
    assert torch.load(ckpts / "last.prev.ckpt", weights_only=True)["ganlab"]["iteration"] == 9
    assert sorted(p.name for p in ckpts.iterdir() if "last" in p.name) == ["last.ckpt", "last.prev.ckpt"]


class SlowIterationAfterSignal(pl.Callback):
    """At iteration ``at`` sends SIGTERM to itself, then runs a 60-s "iteration"."""

    def __init__(self, at: int):
        self.at = at

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration == self.at:
            import time

            os.kill(os.getpid(), signal.SIGTERM)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                time.sleep(0.05)


def test_a_signal_inside_a_long_iteration_is_honoured_within_the_grace_period(tmp_path, capsys):
    import time

    overrides = CASES["ring_unrolled_k2"] + ["callbacks.last_checkpoint.grace_seconds=1"]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*COMMON, f"paths.run_dir={tmp_path}", *overrides])
    datamodule, module, trainer = build(cfg)
    trainer.callbacks.insert(0, SlowIterationAfterSignal(6))
    start = time.monotonic()
    with pytest.raises(Preempted) as exit_info:
        trainer.fit(module, datamodule=datamodule)
    assert time.monotonic() - start < 30
    assert exit_info.value.code == 128 + signal.SIGTERM
    # the abandoned iteration left no trace: last.ckpt is the epoch-end one (iteration 4)
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["ganlab"]["iteration"] == 4
    assert "iteration 6 still running after 1 s, abandoned" in capsys.readouterr().out


def test_an_unreadable_last_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    from ganlab.composition.checkpoints import resolve_resume

    fit(tmp_path / "run", CASES["ring_unrolled_k2"] + ["model.max_iterations=6"])
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    previous = last.with_name("last.prev.ckpt")
    for damage in (lambda p: p.write_bytes(p.read_bytes()[:1000]), lambda p: p.write_bytes(bytes(2000))):
        fit(tmp_path / "run", CASES["ring_unrolled_k2"] + ["model.max_iterations=6"])  # rewrites both (finished)
        damage(last)
        for ckpt_path, run_dir in ((None, tmp_path / "run"), ("last", None), (str(last), None)):
            assert resolve_resume(ckpt_path, tmp_path, run_dir) == str(previous)
            assert "using the previous checkpoint" in capsys.readouterr().err
    previous.write_bytes(b"")
    from ganlab.common.errors import ConfigError

    with pytest.raises(ConfigError, match=r"last.prev.ckpt is an empty file \(0 bytes\)"):
        resolve_resume(str(last), tmp_path)


def test_extending_a_finished_run_is_exact(tmp_path, straight_run):
    """A run that ended at max_iterations mid-epoch, continued to a longer max_iterations from its last.ckpt,
    matches the straight run (the end checkpoint is written at the last iteration boundary)."""
    case = "digits_dcgan_wgan_gp"  # 7 batches an epoch: iteration 4 is mid-epoch
    straight, straight_trainer = straight_run(case)
    shorter = [o for o in CASES[case]] + ["model.max_iterations=4"]
    short, _ = fit(tmp_path / "a", shorter)
    assert short.iteration == 4
    resumed, trainer = fit(tmp_path / "b", CASES[case], ckpt_path=str(tmp_path / "a" / "checkpoints" / "last.ckpt"))
    assert resumed.iteration == N
    assert_identical(straight.state_dict(), resumed.state_dict())
    assert_identical(optimizer_tensors(straight_trainer), optimizer_tensors(trainer))


# ------------------------------------------------------------------------------ signals after training (issue #33)
class SignalInFinalEvaluation(pl.Callback):
    """Sends ``signum`` to this process at the start of the final phase (on_fit_end), then "evaluates" for 60 s."""

    def __init__(self, signum: int):
        self.signum = signum

    def on_fit_end(self, trainer, pl_module):
        import time

        os.kill(os.getpid(), self.signum)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.mark.parametrize(
    ("where", "signum"),
    [("final evaluation", signal.SIGTERM), ("final evaluation", signal.SIGINT), ("last iteration", signal.SIGTERM)],
)
def test_a_signal_after_the_last_iteration_stops_at_once_and_a_rerun_does_only_the_final_evaluation(
    tmp_path, capsys, where, signum
):
    import time

    from ganlab.preflight.resume_rules import check_something_left

    overrides = CASES["ring_unrolled_k2"] + ["callbacks.last_checkpoint.grace_seconds=1", "logger=csv"]
    fit(tmp_path / "straight", overrides)
    run_dir = tmp_path / "run"
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*COMMON, f"paths.run_dir={run_dir}", *overrides])
    datamodule, module, trainer = build(cfg)
    if where == "final evaluation":
        trainer.callbacks.insert(0, SignalInFinalEvaluation(signum))
    else:
        trainer.callbacks.insert(0, SignalAt(N, signum))
    started = time.monotonic()
    with pytest.raises(Preempted) as exit_info:
        trainer.fit(module, datamodule=datamodule)
    assert exit_info.value.code == 128 + signum and time.monotonic() - started < 30
    last = run_dir / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["ganlab"]["iteration"] == N
    metrics = json.loads((run_dir / "metrics.json").read_text())
    phase = "final evaluation" if where == "final evaluation" else "training"
    assert metrics["preempted"]["phase"] == phase and metrics["preempted"]["iteration"] == N
    assert "mode_coverage" not in metrics  # the final evaluation did not run
    line = [x for x in capsys.readouterr().out.splitlines() if signal.Signals(signum).name in x][-1]
    assert "run the same command" in line
    check_something_left(cfg, run_dir)  # no NothingToTrain: the folder records the interruption

    datamodule, resumed, trainer = build(cfg, str(last))  # as ganlab-train resumes (the CSV history kept)
    trainer.fit(resumed, datamodule=datamodule, ckpt_path=str(last))
    assert resumed.iteration == N
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "preempted" not in metrics and metrics["iteration"] == N and metrics["mode_coverage"]["n_modes"] == 8
    history = [(d / "csv" / "metrics.csv").read_text() for d in (tmp_path / "straight", run_dir)]
    assert history[0] == history[1]  # no second end-of-epoch evaluation row
    from ganlab.common.errors import NothingToTrain

    with pytest.raises(NothingToTrain):  # complete now: a third run has nothing to do
        check_something_left(cfg, run_dir)
