"""The divergence guard: a NaN at a chosen iteration stops the run within that iteration with one line naming
it, ``metrics.json`` records it and the last finite checkpoint is intact; ``skip`` drops the step; ``warn``
trains on; an unbounded critic gets a warning line; the CLI exits 3 with one line."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
from clirun import run_in_process
from hydra import compose, initialize_config_dir

from ganlab.callbacks import DivergenceGuard
from ganlab.common.errors import CONF_DIR, Diverged
from ganlab.composition.build import build

RING = [
    "experiment=ring_unrolled",
    "model.unroll_steps=0",
    "data.iterations_per_epoch=4",
    "data.batch_size=64",
    "callbacks.mode_coverage.n_samples=200",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
    "logger=none",
    "model.max_iterations=10",
    "callbacks.last_checkpoint.every_n_iterations=3",
]


class NaNGradientAt(pl.Callback):
    """Poisons the gradient of ``net``'s first parameter in iteration ``at`` (1-based), before the guard sees it."""

    def __init__(self, at: int, net: str = "discriminator"):
        self.at, self.net = at, net

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        first = next(getattr(pl_module, self.net).parameters())
        if pl_module.iteration + 1 == self.at and any(p is first for g in optimizer.param_groups for p in g["params"]):
            first.grad[0] = float("nan")


def fitted(run_dir, overrides=(), poison_at: int | None = None, net: str = "discriminator"):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*RING, f"paths.run_dir={run_dir}", *overrides])
    datamodule, module, trainer = build(cfg)
    if poison_at is not None:
        trainer.callbacks.insert(0, NaNGradientAt(poison_at, net))
    return datamodule, module, trainer


@pytest.mark.parametrize("net", ["discriminator", "generator"])
def test_a_nan_gradient_stops_the_run_within_its_iteration_and_keeps_the_last_finite_checkpoint(tmp_path, net):
    datamodule, module, trainer = fitted(tmp_path, poison_at=8, net=net)
    with pytest.raises(Diverged) as info:
        trainer.fit(module, datamodule=datamodule)
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert str(info.value) == (
        f"diverged at iteration 8: non-finite gradient of the {net}; the last finite checkpoint is {last} (iteration 6)"
    )
    assert module.iteration == 7  # iteration 8 never completed
    saved = torch.load(last, weights_only=True)
    assert saved["ganlab"]["iteration"] == 6
    assert all(torch.isfinite(t).all() for t in saved["state_dict"].values() if t.is_floating_point())
    assert all(torch.isfinite(p).all() for p in module.parameters())  # the poisoned step never ran
    record = json.loads((tmp_path / "metrics.json").read_text())["diverged"]
    assert record == {"iteration": 8, "quantity": f"non-finite gradient of the {net}", "checkpoint": str(last), "at": 6}


class NaNWeightAt(pl.Callback):
    """Poisons G's first weight at the end of iteration ``at``, before that iteration's checkpoint is written (a
    weight that turned non-finite without a non-finite gradient: an overflow)."""

    def __init__(self, at: int):
        self.at = at

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.iteration == self.at:
            with torch.no_grad():
                next(pl_module.generator.parameters())[0] = float("inf")


def test_a_non_finite_weight_never_reaches_a_checkpoint(tmp_path):
    datamodule, module, trainer = fitted(tmp_path)  # last.ckpt every 3 iterations and at each epoch end (4)
    trainer.callbacks.insert(0, NaNWeightAt(6))
    with pytest.raises(Diverged) as info:
        trainer.fit(module, datamodule=datamodule)
    last = tmp_path / "checkpoints" / "last.ckpt"
    saved = torch.load(last, weights_only=True)
    assert saved["ganlab"]["iteration"] == 4  # iteration 6's write was refused
    assert all(torch.isfinite(t).all() for t in saved["state_dict"].values() if t.is_floating_point())
    assert str(info.value) == (
        f"diverged at iteration 6: non-finite weights or buffers in the generator; "
        f"the last finite checkpoint is {last} (iteration 4)"
    )


def test_the_checkpoint_check_covers_buffers_and_names_the_network():
    guard = DivergenceGuard()
    module = torch.nn.ModuleDict({"generator": torch.nn.BatchNorm1d(3), "discriminator": torch.nn.Linear(3, 1)})
    one_process = SimpleNamespace(reduce_boolean_decision=lambda decision, all=True: decision)
    trainer = SimpleNamespace(is_global_zero=True, checkpoint_callbacks=[], global_step=7, strategy=one_process)
    guard.on_save_checkpoint(trainer, module, {})  # all finite: nothing happens
    module["generator"].running_mean[1] = float("nan")  # a BatchNorm statistic, not a weight
    expected = "iteration 7: non-finite weights or buffers in the generator; no checkpoint yet"
    with pytest.raises(Diverged, match=expected):
        guard.on_save_checkpoint(trainer, module, {})


def test_a_rank_with_finite_state_stops_with_the_rank_that_is_not():
    """Under DDP every rank saves; the verdict is reduced over the ranks, so a rank whose own state is finite stops
    too instead of waiting at the next collective."""
    guard = DivergenceGuard()
    module = torch.nn.ModuleDict({"generator": torch.nn.Linear(3, 3), "discriminator": torch.nn.Linear(3, 1)})
    other_rank_bad = SimpleNamespace(reduce_boolean_decision=lambda decision, all=True: False)
    trainer = SimpleNamespace(is_global_zero=False, checkpoint_callbacks=[], global_step=3, strategy=other_rank_bad)
    with pytest.raises(Diverged, match="non-finite weights or buffers in the networks of another rank"):
        guard.on_save_checkpoint(trainer, module, {})


def test_skip_drops_the_poisoned_step_and_trains_on(tmp_path, capsys):
    datamodule, module, trainer = fitted(tmp_path, ["callbacks.divergence.policy=skip"], poison_at=5)
    guard = next(c for c in trainer.callbacks if isinstance(c, DivergenceGuard))
    before = {}

    class Snapshot(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if pl_module.iteration + 1 == 5:
                before.update({k: v.clone() for k, v in pl_module.discriminator.state_dict().items()})

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if pl_module.iteration == 5:
                after = pl_module.discriminator.state_dict()
                before["unchanged"] = all(torch.equal(before[k], after[k]) for k in after)

    trainer.callbacks.insert(0, Snapshot())
    trainer.fit(module, datamodule=datamodule)
    assert module.iteration == 10 and guard.skipped == 1
    assert before["unchanged"]  # D's one step of iteration 5 was dropped
    assert "iteration 5: non-finite gradient of the discriminator: step skipped (1 so far)" in capsys.readouterr().err


def test_warn_trains_on_and_says_so_once(tmp_path, capsys):
    datamodule, module, trainer = fitted(tmp_path, ["callbacks.divergence.policy=warn"], poison_at=5)
    trainer.fit(module, datamodule=datamodule)
    assert module.iteration == 10
    err = capsys.readouterr().err
    assert err.count("non-finite gradient of the discriminator") == 1


def test_nothing_is_said_about_a_healthy_run(tmp_path, capsys):
    datamodule, module, trainer = fitted(tmp_path)
    trainer.fit(module, datamodule=datamodule)
    assert module.iteration == 10 and "[ganlab] warning" not in capsys.readouterr().err


def test_an_unbounded_critic_gets_one_warning_line(tmp_path, capsys):
    overrides = ["loss=wgan", "loss.constraint=null", "optim.discriminator.lr=1.0"]
    overrides.append("callbacks.divergence.output_warning=50")
    datamodule, module, trainer = fitted(tmp_path, overrides)
    trainer.fit(module, datamodule=datamodule)
    err = capsys.readouterr().err
    assert err.count("the critic is unbounded") == 1, err


def test_all_finite_sees_every_kind_of_non_finite_value():
    from ganlab.callbacks.divergence import all_finite

    ok = [torch.zeros(3), torch.ones(2, 2, dtype=torch.float64)]
    assert all_finite(ok) and all_finite([])
    for bad in (math.nan, math.inf, -math.inf):
        assert not all_finite([*ok, torch.tensor([0.0, bad])])
    assert not all_finite([torch.full((4,), 3e38)])  # the norm overflows: a weight this large is a divergence too


def test_the_cli_exits_3_with_one_line_on_a_diverging_run(tmp_path):
    args = ["experiment=ring_gan", "model.max_iterations=50", "data.iterations_per_epoch=20"]
    args += ["optim.discriminator.lr=1e6", "optim.generator.lr=1e6", "trainer.enable_progress_bar=false"]
    result = run_in_process("ganlab-train", args, tmp_path)  # exit code 3 is main's SystemExit(3)
    assert result.returncode == 3, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("ganlab-train: error")]
    assert len(errors) == 1 and "diverged at iteration" in errors[0] and "non-finite" in errors[0]
    assert "Traceback" not in result.stderr
    (summary,) = (tmp_path / "outputs").rglob("metrics.json")
    assert json.loads(summary.read_text())["diverged"]["iteration"] >= 1
