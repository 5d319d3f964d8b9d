"""What ganlab-train says (issue #31): its own ``--help``; ``ckpt_path=last`` names the checkpoint it chose
before anything else; a run with nothing left to train says so in one line, exits 0 and writes nothing; the end of a
run speaks in iterations (Lightning's "`max_epochs=…` reached" is not shown)."""

import hashlib
from pathlib import Path

import pytest
from clirun import run_in_process

TINY = ["experiment=ring_gan", "model.max_iterations=4", "data.iterations_per_epoch=2", "logger=csv",
        "callbacks.mode_coverage.n_samples=100", "trainer.enable_progress_bar=false"]  # fmt: skip


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("resume_lines")
    result = run_in_process("ganlab-train", TINY, cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[ganlab] ring_gan: iteration 4" in result.stdout and "max_epochs" not in result.stdout + result.stderr
    return cwd


def _run_dir(cwd: Path) -> Path:
    """The fixture's run folder (the oldest: a resume with ckpt_path=last trains on in a new one)."""
    return min((cwd / "outputs" / "train" / "ring_gan").iterdir())


def test_a_finished_run_resumed_as_it_is_says_so_and_writes_nothing(finished):
    before, run_dir = _digest(finished), _run_dir(finished)
    again = run_in_process("ganlab-train", [*TINY, f"hydra.run.dir={run_dir}"], finished)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.strip() == (
        f"[ganlab] nothing to train: {run_dir / 'checkpoints' / 'last.ckpt'} is at iteration 4 and "
        "model.max_iterations=4; raise model.max_iterations to train on"
    )
    last = run_in_process("ganlab-train", [*TINY, "ckpt_path=last"], finished)
    assert last.returncode == 0 and last.stdout.splitlines()[-1].startswith("[ganlab] nothing to train:")
    assert _digest(finished) == before  # no new run folder, no file touched


def test_ckpt_path_last_names_the_checkpoint_it_chose_first(finished):
    result = run_in_process("ganlab-train", [*TINY, "ckpt_path=last", "model.max_iterations=6"], finished)
    assert result.returncode == 0, result.stderr[-3000:]
    first = result.stdout.splitlines()[0]
    assert first == f"[ganlab] ckpt_path=last: {_run_dir(finished) / 'checkpoints' / 'last.ckpt'}"
    assert "iteration 6" in result.stdout.splitlines()[-1]


def test_train_help_is_ganlabs_own_and_lists_every_preset(tmp_path):
    from ganlab.common.errors import CONF_DIR

    result = run_in_process("ganlab-train", ["--help"], tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("usage: ganlab-train")
    text = result.stdout
    for needle in ("-k model.unroll_steps", "-ds model.d_steps", "-m seed=", "ckpt_path=last", "GANLAB_OUTPUT_DIR",
                   "ganlab-eval", "ganlab-latent", "ganlab.load", "--hydra-help", "--config-dir"):  # fmt: skip
        assert needle in text, needle
    for preset in (CONF_DIR / "experiment").glob("*.yaml"):
        assert preset.stem in text, preset.stem
    assert "powered by Hydra" not in text and not (tmp_path / "outputs").exists()
