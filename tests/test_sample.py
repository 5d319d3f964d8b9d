"""``ganlab-sample`` (issue #31): N samples of a checkpoint on disk for external evaluators — a PNG folder that
torch-fidelity reads image by image, an ``.npz``, a manifest — seeded, never over earlier results."""

import json

import numpy as np
import pytest
import torch
from clirun import run_in_process, run_script

TINY_IMAGE = ["experiment=digits_dcgan", "model.max_iterations=2", "data.batch_size=16", "logger=none",
              "callbacks.sample_grid.n_samples=4", "trainer.enable_progress_bar=false"]  # fmt: skip
TINY_RING = ["experiment=ring_gan", "model.max_iterations=2", "data.iterations_per_epoch=2", "logger=none",
             "callbacks.mode_coverage.n_samples=100", "trainer.enable_progress_bar=false"]  # fmt: skip


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    for name, args in (("image", TINY_IMAGE), ("ring", TINY_RING)):
        result = run_in_process("ganlab-train", [*args, f"hydra.run.dir={root / name}"], root)
        assert result.returncode == 0, result.stderr[-3000:]
    return {name: root / name / "checkpoints" / "last.ckpt" for name in ("image", "ring")}


def test_a_png_folder_torch_fidelity_reads_and_an_npz_of_the_same_images(checkpoints, tmp_path):
    from torch_fidelity.utils import prepare_input_from_descriptor

    out = tmp_path / "samples"
    result = run_script("ganlab-sample", [f"ckpt={checkpoints['image']}", "n=37", "batch_size=10", "format=both",
                                          f"out={out}"], tmp_path, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"[ganlab-sample] 37 samples (generator, iteration 2): {out}"
    dataset = prepare_input_from_descriptor({"input": str(out / "images")}, verbose=False)
    assert len(dataset) == 37
    saved = np.load(out / "samples.npz")["samples"]
    assert saved.shape == (37, 28, 28, 1) and saved.dtype == np.uint8
    for i in range(37):
        image = dataset[i]  # uint8 RGB, C × H × W: the grey channel repeated
        assert image.shape == (3, 28, 28) and torch.equal(image[0], torch.from_numpy(saved[i, :, :, 0]))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["checkpoint"] == str(checkpoints["image"]) and manifest["iteration"] == 2
    assert (manifest["seed"], manifest["n"], manifest["generator"], manifest["shape"]) == (
        0,
        37,
        "generator",
        [1, 28, 28],
    )
    assert manifest["settings"]["truncation"] is None and manifest["experiment"] == "digits_dcgan"


def test_the_same_seed_gives_the_same_samples_and_truncation_changes_them(checkpoints, tmp_path):
    def npz(name, *extra):
        args = [f"ckpt={checkpoints['image']}", "n=8", "format=npz", f"out={tmp_path / name}", *extra]
        assert run_in_process("ganlab-sample", args, tmp_path).returncode == 0
        return np.load(tmp_path / name / "samples.npz")["samples"]

    first, again, other, truncated = npz("a"), npz("b"), npz("c", "seed=1"), npz("d", "truncation=0.5")
    assert np.array_equal(first, again) and not np.array_equal(first, other) and not np.array_equal(first, truncated)


def test_points_go_to_npz_as_float32(checkpoints, tmp_path):
    args = [f"ckpt={checkpoints['ring']}", "n=25", "format=npz", f"out={tmp_path / 'ring'}"]
    assert run_in_process("ganlab-sample", args, tmp_path).returncode == 0
    points = np.load(tmp_path / "ring" / "samples.npz")["samples"]
    assert points.shape == (25, 2) and points.dtype == np.float32


@pytest.mark.parametrize(
    ("kind", "args", "words"),
    [
        ("ring", ["format=png"], ["format=png needs images", "accepted: npz"]),
        ("image", ["generator=ema"], ["generator=ema", "no moving average", "accepted: auto, g"]),
        ("image", ["label=3"], ["label=3", "unconditional"]),
        ("image", ["n=0"], ["n=0", "[1, 10000000]"]),
        ("image", ["format=jpg"], ["format='jpg'", "png, npz, both"]),
        ("image", ["truncation=0"], ["truncation=0", "> 0"]),
    ],
)
def test_bad_settings_are_one_line_and_write_nothing(checkpoints, tmp_path, kind, args, words):
    out = tmp_path / "out"
    result = run_in_process("ganlab-sample", [f"ckpt={checkpoints[kind]}", f"out={out}", *args], tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert all(w in result.stderr for w in words), result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))


def test_an_earlier_result_is_never_replaced(checkpoints, tmp_path):
    out = tmp_path / "kept"
    out.mkdir()
    (out / "earlier.txt").write_text("mine")
    result = run_in_process("ganlab-sample", [f"ckpt={checkpoints['image']}", f"out={out}", "n=4"], tmp_path)
    assert result.returncode == 2 and "exists and is not an empty folder" in result.stderr
    assert [p.name for p in out.iterdir()] == ["earlier.txt"]
