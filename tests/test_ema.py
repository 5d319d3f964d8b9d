"""G's moving average (issue #19): the decay ramp, the average against a closed form, BatchNorm buffers, and a real
training run where evaluation samples from the average (exact resume with it: tests/test_resume.py)."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir
from torch import nn

from ganlab.common.errors import CONF_DIR, ConfigError
from ganlab.composition.build import build
from ganlab.modules.ema import GeneratorEMA
from ganlab.preflight.checks import validate


def test_decay_ramps_up_then_holds():
    ema = GeneratorEMA(decay=0.999)
    assert ema.decay_after(0) == pytest.approx(0.1)
    assert ema.decay_after(10) == pytest.approx(11 / 20)
    assert ema.decay_after(100_000) == pytest.approx(0.999)
    assert GeneratorEMA(decay=0.9, rampup=False).decay_after(0) == 0.9


def test_the_average_follows_the_closed_form():
    g = nn.Linear(1, 1, bias=False)
    ema = GeneratorEMA(decay=0.5, rampup=False)
    average = ema.average(g)
    expected = None
    for value in (4.0, 2.0, 8.0):
        with torch.no_grad():
            g.weight.fill_(value)
        average.update_parameters(g)
        expected = value if expected is None else 0.5 * expected + 0.5 * value  # the first update copies
    assert average.module.weight.item() == pytest.approx(expected) == pytest.approx(5.5)
    assert int(average.n_averaged) == 3
    assert not any(p.requires_grad for p in average.parameters())


def test_batchnorm_statistics_are_averaged_and_counters_follow():
    g = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    average = GeneratorEMA(decay=0.5, rampup=False).average(g)
    average.update_parameters(g)
    g(torch.randn(8, 2) + 5.0)  # train mode: running stats move, num_batches_tracked = 1
    average.update_parameters(g)
    bn, avg_bn = g[1], average.module[1]
    assert torch.allclose(avg_bn.running_mean, 0.5 * bn.running_mean)  # the copy had zeros
    assert int(avg_bn.num_batches_tracked) == int(bn.num_batches_tracked) == 1


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5, -0.1, True])
def test_a_decay_outside_the_open_unit_interval_is_refused(decay):
    with pytest.raises(ValueError, match="accepted: a number in \\(0, 1\\)"):
        GeneratorEMA(decay=decay)


def compose_train(overrides):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=overrides)


def test_preflight_refuses_a_bad_decay_in_one_line():
    cfg = compose_train(["+model/ema=default", "model.ema.decay=1.5"])
    with pytest.raises(ConfigError, match=r"^model\.ema\.decay=1\.5 is invalid; accepted: a number in \(0, 1\)"):
        validate(cfg)


def test_a_training_run_evaluates_with_the_average(tmp_path):
    iterations = 5
    cfg = compose_train(
        ["experiment=ring_gan", "+model/ema=default", f"model.max_iterations={iterations}", "logger=none"]
        + ["trainer.enable_progress_bar=false", f"paths.run_dir={tmp_path}", "data.batch_size=32"]
        + ["callbacks.mode_coverage.n_samples=100", "callbacks.diagnostics=null"]
    )
    datamodule, module, trainer = build(cfg)
    assert module.evaluated_with == "generator"  # nothing averaged yet
    trainer.fit(module, datamodule=datamodule)
    assert int(module.generator_ema.n_averaged) == iterations
    assert module.evaluated_with == "ema" and module.eval_generator is module.generator_ema.module
    z = torch.randn(16, module.latent_dim)
    raw = module.generate(z)
    assert torch.allclose(module.sample(z=z), module.generate(z, net=module.generator_ema.module))
    assert not torch.allclose(module.sample(z=z), raw)
    assert any(k.startswith("generator_ema.") for k in module.state_dict())
    import json

    assert json.loads((tmp_path / "metrics.json").read_text())["evaluated_with"] == "ema"
