"""``ganlab-latent`` end to end on a briefly trained digits DCGAN: every task writes its result and figures into a
fresh folder beside the checkpoint; bad input is one line, exit code 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from clirun import run_either
from PIL import Image

TIMEOUT_S = 300
TINY = ["n_images=4", "restarts=2", "iterations=5"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("latent")
    args = [
        "experiment=digits_dcgan",
        "model.max_iterations=20",
        "data.batch_size=32",
        "trainer.enable_progress_bar=false",
    ]
    result = run_either(False, "ganlab-train", args, cwd, TIMEOUT_S)  # main in this process: no 7-s start-up
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = (cwd / "outputs").rglob("last.ckpt")
    return path


def latent(args: list[str], ckpt: Path, real: bool = False):
    """``ganlab-latent`` on ``ckpt``: the real console script (``real``), or its ``main`` in this process (the same
    argv, environment and working directory, without ~7 s of start-up)."""
    return run_either(real, "ganlab-latent", [f"ckpt={ckpt}", *args], ckpt.parent.parent, TIMEOUT_S)


def outputs(ckpt: Path) -> list[Path]:
    root = ckpt.parent / "latent"
    return sorted(root.iterdir()) if root.exists() else []


@pytest.mark.parametrize(
    ("args", "figures"),
    [
        (["task=invert"], ["curves.png", "reconstructions.png"]),
        (["task=inpaint"], ["inpaint_pepper.png", "inpaint_crosswalk.png", "inpaint_square.png"]),
        (["task=interpolate", "source=images", "pairs=2", "mode=spherical"], ["interpolation.png"]),
        (["task=arithmetic", "group_size=2"], ["arithmetic.png"]),
        (["task=truncate", "n_samples=64", "thresholds=[inf,0.5]"], ["truncation.png"]),
    ],
    ids=lambda v: v[0] if isinstance(v, list) and v and "=" in v[0] else None,
)
def test_each_task_writes_result_and_figures(ckpt, args, figures):
    before = outputs(ckpt)
    result = latent([*args, *TINY], ckpt, real=args == ["task=invert"])  # one task through the real script
    assert result.returncode == 0, result.stderr[-2000:]
    (out,) = [p for p in outputs(ckpt) if p not in before]
    payload = json.loads((out / "result.json").read_text())
    assert payload["task"] == args[0].split("=")[1] and payload["figures"] == figures
    for name in figures:
        with Image.open(out / name) as img:
            img.verify()
    if payload["task"] == "invert":
        assert len(payload["mse"]) == 4 and len(payload["restart_mse"][0]) == 2
        saved = torch.load(out / "latents.pt", weights_only=True)
        assert saved["z"].shape == (4, 100)
    if payload["task"] == "inpaint":
        masks = payload["masks"]
        assert masks["crosswalk"]["missing_fraction"] == 0.5
        assert abs(masks["pepper"]["missing_fraction"] - 0.3) < 0.01
        assert masks["square"]["missing_fraction"] == pytest.approx(64 / 784)
    if payload["task"] == "interpolate":
        assert payload["alphas"][1] == 0.125 and len(payload["pairs"]) == 2


def test_a_user_mask_file(ckpt, tmp_path):
    mask = torch.ones(28, 28)
    mask[10:18, :] = 0
    torch.save(mask, tmp_path / "band.pt")
    before = outputs(ckpt)
    result = latent(["task=inpaint", f"mask_file={tmp_path / 'band.pt'}", *TINY], ckpt)
    assert result.returncode == 0, result.stderr[-2000:]
    (out,) = [p for p in outputs(ckpt) if p not in before]
    payload = json.loads((out / "result.json").read_text())
    assert payload["masks"]["file"]["missing_fraction"] == pytest.approx(8 / 28)


def bad_inputs(ckpt: Path, tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    torch.save(torch.ones(32, 32), tmp_path / "wrong.pt")
    return {
        "missing-ckpt": ([f"ckpt={tmp_path / 'nope.ckpt'}", "task=invert"], "does not exist"),
        "unknown-task": (["task=dream"], "accepted: invert, inpaint"),
        "unknown-mask": (["task=inpaint", "masks=[blob]"], "accepted: a non-empty list of pepper, crosswalk, square"),
        "mask-size": (["task=inpaint", f"mask_file={tmp_path / 'wrong.pt'}"], "(28, 28)"),
        "optimizer": (["task=invert", "optimizer=lbfgs"], "accepted: adam, sgd"),
        "encoder-of-a-gan": (["task=interpolate", "source=images", "endpoints=encoder"], "has no encoder"),
        "endpoints": (["task=interpolate", "source=images", "endpoints=guess"], "accepted: auto, encoder, inversion"),
        # refused even where the task would not use it (random endpoints), rather than silently ignored
        "encoder-unused": (["task=interpolate", "source=random", "endpoints=encoder"], "has no encoder"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "missing-ckpt",
        "unknown-task",
        "unknown-mask",
        "mask-size",
        "optimizer",
        "encoder-of-a-gan",
        "endpoints",
        "encoder-unused",
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(ckpt, tmp_path, name):
    args, words = bad_inputs(ckpt, tmp_path)[name]
    before = outputs(ckpt)
    real = name == "missing-ckpt"  # the real console script once; the others call its main in this process
    result = run_either(real, "ganlab-latent", [f"ckpt={ckpt}", *args, *TINY], ckpt.parent.parent, TIMEOUT_S)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("ganlab-latent: error:")]
    assert len(lines) == 1 and words in lines[0], result.stderr[-2000:]
    assert outputs(ckpt) == before
