"""Optional packages (issue #31): without an extra's package, the setting that needs it is refused in one line naming
``pip install 'ganlab[<extra>]'``, exit 2, nothing written; with it, nothing is said."""

import pytest
from clirun import run_in_process

from ganlab.preflight import extras


@pytest.mark.parametrize(
    ("missing", "script", "args", "words"),
    [
        ("wandb", "ganlab-train", ["logger=wandb"], ["logger=wandb", "pip install 'ganlab[wandb]'", "logger=csv"]),
        ("torch_fidelity", "ganlab-train", ["experiment=digits_dcgan", "callbacks/metrics=inception"],
         ["callbacks.metrics.extractor=inception", "pip install 'ganlab[inception]'"]),
        ("hydra_plugins.hydra_submitit_launcher", "ganlab-train", ["-m", "hydra/launcher=slurm", "seed=0,1"],
         ["hydra/launcher=slurm", "pip install 'ganlab[slurm]'"]),
        ("torch_fidelity", "ganlab-eval", ["ckpt=x.ckpt", "extractor=inception"],
         ["extractor=inception", "pip install 'ganlab[inception]'"]),
    ],
)  # fmt: skip
def test_a_missing_extra_is_one_line_naming_it(monkeypatch, tmp_path, missing, script, args, words):
    monkeypatch.setattr(extras, "installed", lambda module: module != missing)
    result = run_in_process(script, args, tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert all(w in result.stderr for w in words), result.stderr
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "multirun").exists()


def test_every_extra_is_installed_here_and_found():
    assert all(extras.installed(module) for module, _ in extras.EXTRAS.values())
    assert not extras.installed("no_such_package.sub")
