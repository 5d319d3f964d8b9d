"""ganlab as a library (issue #31): the wheel carries the configs and its entry points run outside the clone; a user's
config folder (a preset and a loss of their own) composes beside ganlab's through Hydra's ``--config-dir`` or
``hydra.searchpath``.

The wheel is built from a copy of the working tree (tracked and untracked files, ignored ones left out), installed
without dependencies into a fresh environment that borrows the test environment's packages (torch and the rest)
through a path entry, which loads no ``.pth`` file from there: the clone's editable install stays out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

USER_LOSS = '''
"""A loss of one's own: the relativistic standard GAN (Jolicoeur-Martineau 2018)."""
import torch.nn.functional as F

from ganlab.losses import Objective


class Relativistic(Objective):
    name = "relativistic"

    def d_loss(self, real_logits, fake_logits, real_label=1.0):
        return (F.softplus(-(real_logits - fake_logits.mean())).mean()
                + F.softplus(fake_logits - real_logits.mean()).mean())

    def g_loss(self, fake_logits):
        return F.softplus(-fake_logits).mean()
'''
USER_FILES = {
    "my_losses.py": USER_LOSS,
    "conf/loss/relativistic.yaml": """
        defaults:
          - /schema/loss@_here_: gan
          - _self_
        name: relativistic
        objective: {_target_: my_losses.Relativistic}
        """,
    "conf/experiment/my_ring.yaml": """
        # @package _global_
        defaults:
          - override /data: ring
          - override /model: gan_mlp2d
          - override /loss: relativistic
          - override /optim: toy2d
        name: my_ring
        model: {unroll_steps: 0, max_iterations: 6}
        data: {iterations_per_epoch: 3, batch_size: 64}
        """,
}


def _copy_of_the_tree(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split("\n")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh environment holding only ganlab's built wheel (dependencies borrowed from this one)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = _copy_of_the_tree(tmp / "source")
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist")],
                   check=True, cwd=tmp)  # fmt: skip
    (wheel,) = (tmp / "dist").glob("ganlab-*.whl")
    env = tmp / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    Path(site, "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    return env


def _run(env: Path, command: list[str], cwd: Path, **extra_env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environ = {**clean, "OMP_NUM_THREADS": "1", "GANLAB_OUTPUT_DIR": str(cwd / "outputs"), **extra_env}
    return subprocess.run([str(env / "bin" / command[0]), *command[1:]], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_the_wheel_carries_the_configs_and_imports_from_its_environment(installed, tmp_path):
    result = _run(installed, ["python", "-c", "import ganlab.common.errors as e; print(e.__file__, e.CONF_DIR)"],
                  tmp_path)  # fmt: skip
    module, conf = result.stdout.split()
    assert module.startswith(str(installed)) and conf.startswith(str(installed)), result.stdout
    assert (Path(conf) / "train.yaml").is_file() and (Path(conf) / "experiment" / "ring_veegan.yaml").is_file()
    shipped = {p.relative_to(conf).as_posix() for p in Path(conf).rglob("*.yaml")}
    assert shipped == {p.relative_to(ROOT / "conf").as_posix() for p in (ROOT / "conf").rglob("*.yaml")}


def test_every_entry_point_runs_outside_the_clone(installed, tmp_path):
    tiny = ["model.max_iterations=20", "data.iterations_per_epoch=10", "trainer.enable_progress_bar=false"]
    train = _run(installed, ["ganlab-train", "experiment=ring_gan", *tiny], tmp_path)
    assert train.returncode == 0, train.stderr[-2000:]
    assert "[ganlab] ring_gan: iteration 20" in train.stdout
    assert list((tmp_path / "outputs").rglob("metrics.json"))
    for command in ("ganlab-train", "ganlab-eval", "ganlab-latent", "ganlab-sample"):
        result = _run(installed, [command, "--help"], tmp_path)
        assert result.returncode == 0 and result.stdout.startswith(f"usage: {command}"), result.stderr[-2000:]
    report = _run(installed, ["ganlab-report", "--help"], tmp_path)
    assert report.returncode == 0 and "ganlab-report curves SWEEP_DIR" in report.stdout, report.stderr[-2000:]
    # the Python API from the installed package: compose, load the run above, sample
    (ckpt,) = (tmp_path / "outputs").rglob("last.ckpt")
    api = (
        "import ganlab; c = ganlab.compose('experiment=ring_gan', 'loss=hinge'); "
        f"m = ganlab.load({str(ckpt)!r}); print(c.loss.name, m.iteration, tuple(m.sample(5).shape), ganlab.__file__)"
    )
    result = _run(installed, ["python", "-c", api], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[:4] == ["hinge", "20", "(5,", "2)"] and result.stdout.split()[4].startswith(
        str(installed)
    )


def test_a_users_config_folder_adds_a_preset_and_a_loss(installed, tmp_path):
    user = tmp_path / "my_gan"
    for name, text in USER_FILES.items():
        (user / name).parent.mkdir(parents=True, exist_ok=True)
        (user / name).write_text(textwrap.dedent(text).lstrip())
    ran = _run(installed, ["ganlab-train", "--config-dir", "conf", "experiment=my_ring"], user, PYTHONPATH=str(user))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "[ganlab] my_ring: iteration 6" in ran.stdout
    searched = _run(installed, ["ganlab-train", f"hydra.searchpath=[file://{user / 'conf'}]", "experiment=ring_gan",
                                "loss=relativistic", "model.max_iterations=3", "data.iterations_per_epoch=3"],
                    user, PYTHONPATH=str(user))  # fmt: skip
    assert searched.returncode == 0, searched.stderr[-2000:]
    unknown = _run(installed, ["ganlab-train", "experiment=my_ring"], user, PYTHONPATH=str(user))
    assert unknown.returncode == 2 and "experiment=my_ring is not a known experiment" in unknown.stderr
