"""The public Python API (issue #31): ``ganlab.load`` rebuilds a trained module from a checkpoint; Lightning's
``load_from_checkpoint`` answers with one line naming it; ``import ganlab`` stays light."""

import subprocess
import sys

import pytest
import torch
from clirun import run_in_process

import ganlab
from ganlab.common.errors import ConfigError
from ganlab.modules import GANModule


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("api")
    args = ["experiment=ring_unrolled", "model.max_iterations=4", "data.iterations_per_epoch=2",
            "callbacks.mode_coverage.n_samples=100", f"hydra.run.dir={cwd / 'run'}"]  # fmt: skip
    result = run_in_process("ganlab-train", args, cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "run" / "checkpoints" / "last.ckpt"


def test_load_returns_the_trained_module_in_eval_mode(checkpoint):
    module = ganlab.load(checkpoint)
    assert isinstance(module, GANModule) and not module.training
    assert module.iteration == 4 and module.unroll_steps == 5
    assert module.run_config["name"] == "ring_unrolled" and module.run_config["model"]["max_iterations"] == 4
    saved = torch.load(checkpoint, weights_only=True)["state_dict"]
    for name, value in module.generator.state_dict().items():
        assert torch.equal(value, saved[f"generator.{name}"]), name
    assert module.sample(16).shape == (16, 2)


def test_lightnings_loader_names_ganlab_load(checkpoint):
    with pytest.raises(TypeError, match=r"use ganlab\.load\(") as info:
        GANModule.load_from_checkpoint(checkpoint)
    assert "\n" not in str(info.value)


def test_load_refuses_a_missing_file_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        ganlab.load(tmp_path / "nothing.ckpt")


def test_import_ganlab_is_light():
    code = "import sys, ganlab; print(ganlab.CONF_DIR.is_dir(), 'torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == [
        "True",
        "False",
    ]


def test_train_runs_ganlab_train_and_returns_its_run_folder(tmp_path, capsys):
    tiny = ["experiment=ring_gan", "model.max_iterations=4", "data.iterations_per_epoch=2",
            "callbacks.mode_coverage.n_samples=100", "trainer.enable_progress_bar=false"]  # fmt: skip
    folder = ganlab.train(*tiny, run_dir=tmp_path / "mine")
    assert folder == tmp_path / "mine" and (folder / "checkpoints" / "last.ckpt").is_file()
    assert "[ganlab] ring_gan: iteration 4" in capsys.readouterr().out
    assert ganlab.load(folder / "checkpoints" / "last.ckpt").iteration == 4
    # without run_dir: ganlab-train's own folder, as its summary line names it
    found = ganlab.train(*tiny, "seed=1", env={"GANLAB_OUTPUT_DIR": str(tmp_path / "out")})
    assert found.parent == tmp_path / "out" / "train" / "ring_gan" and (found / "metrics.json").is_file()
    with pytest.raises(ValueError, match=r"^ganlab-train: error: loss=minimaxx .*accepted: .*hinge") as info:
        ganlab.train(*tiny, "loss=minimaxx", run_dir=tmp_path / "bad")
    assert "\n" not in str(info.value) and not (tmp_path / "bad").exists()
    with pytest.raises(ValueError, match="ganlab-train -m"):
        ganlab.train("-m", *tiny)


def test_compose_gives_the_run_settings_with_overrides_and_a_users_folder(tmp_path):
    cfg = ganlab.compose("experiment=ring_gan", "model.unroll_steps=5", "loss=hinge")
    assert cfg.name == "ring_gan" and cfg.model.unroll_steps == 5 and cfg.loss.name == "hinge"
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "my_ring.yaml").write_text(
        "# @package _global_\ndefaults: [override /data: ring, override /model: gan_mlp2d, override /loss: lsgan,"
        " override /optim: toy2d]\nname: my_ring\n"
    )
    mine = ganlab.compose("experiment=my_ring", config_dir=tmp_path)
    assert mine.name == "my_ring" and mine.loss.name == "lsgan" and mine.data.mixture_kwargs.n_modes == 8
