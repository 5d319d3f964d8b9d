"""``experiments/bench/ada_leak.py``: the D4 symmetries, a detector that tells them apart, and the bench at a tiny
size (jobs as ganlab-train runs in their own folders, read and not re-run once finished, scored and tabled)."""

import json

import pytest
import torch

from experiments.bench import ada_leak


def test_a_cell_is_none_or_bgc_at_the_probability_its_name_carries(capsys):
    assert ada_leak.cell_overrides("none") == []
    assert ada_leak.cell_overrides(ada_leak.cell("p0.3")) == ["+loss/augment=bgc", "loss.augment.probability=0.3"]
    for bad in ("p1.5", "pp", "0.3", "bgc"):
        with pytest.raises(SystemExit) as exit_:
            ada_leak.main(["--cells", bad, "--report-only"])
        assert exit_.value.code == 2
        assert f"'{bad}': a cell is 'none' or 'p<probability in [0, 1]>'" in capsys.readouterr().err


def test_the_symmetries_are_the_eight_elements_of_d4():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    images = [ada_leak.symmetry(x, k) for k in range(8)]
    assert len({tuple(i.flatten().tolist()) for i in images}) == 8  # all distinct on an asymmetric image
    assert torch.equal(images[0], x)
    assert torch.equal(images[4], x.flip(3)) and torch.equal(images[1], torch.rot90(x, 1, dims=(2, 3)))
    for k in range(8):  # closed under composition: applying any element to any element's image stays in the set
        for j in range(8):
            composed = ada_leak.symmetry(images[k], j)
            assert any(torch.equal(composed, i) for i in images)


def test_the_detector_learns_which_symmetry_was_applied():
    """On an asymmetric shape (an 'L' at random places), a few epochs tell all eight apart on held-out images."""
    g = torch.Generator().manual_seed(0)
    images = torch.full((600, 1, 12, 12), -1.0)
    for i, (r, c) in enumerate(torch.randint(1, 4, (600, 2), generator=g).tolist()):
        images[i, 0, r : r + 7, c] = 1.0
        images[i, 0, r + 6, c : c + 4] = 1.0
    images += 0.1 * torch.randn(images.shape, generator=g)
    net = ada_leak.train_detector(images[:500], epochs=15)
    held_out = images[500:]
    assert ada_leak.shares(net, held_out)[0] > 0.95
    for k in range(8):
        assert ada_leak.shares(net, ada_leak.symmetry(held_out, k))[k] > 0.95, ada_leak.NAMES[k]


def test_the_bench_trains_scores_and_does_not_rerun_finished_jobs(tmp_path):
    argv = ["--cells", "none", "p1.0", "--seeds", "1", "--iterations", "2", "--samples", "32",
            "--detector-epochs", "1", "--root", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
            "--overrides", "data.batch_size=8"]  # fmt: skip
    ada_leak.main(argv)
    result = json.loads((tmp_path / "out" / "ada_leak_digits_dcgan.json").read_text())
    rows = result["rows"]
    assert [(r["cell"], r["finished"]) for r in rows] == [("none", True), ("p1.0", True)]
    for r in rows:
        assert sum(r["shares"].values()) == pytest.approx(1.0) and r["leak"] == pytest.approx(1 - r["shares"]["rot0"])
        assert 0.0 <= r["leak_confident"] <= r["leak"]
    calibration = result["calibration"]
    assert 0.0 <= calibration["floor_confident"] <= calibration["floor"] <= 1.0 and len(calibration["accuracy"]) == 8
    assert set(calibration["degraded_floors"]) == {"blur 1.6", "noise 0.3"}
    table = (tmp_path / "out" / "ada_leak_digits_dcgan.md").read_text()
    assert "| none | 1 (0) |" in table and "| p1.0 | 1 (0) |" in table
    assert (tmp_path / "out" / "ada_leak_digits_dcgan_p1.0_seed0.png").is_file()
    config = (tmp_path / "runs" / "digits_dcgan" / "p1.0" / "seed0" / ".hydra" / "config.yaml").read_text()
    assert "ganlab.augment.BgcAugment" in config and "probability: 1.0" in config
    logs = {p: p.read_text() for p in (tmp_path / "runs").rglob("seed*.log")}
    ada_leak.main(argv)  # finished: read, not trained again
    assert {p: p.read_text() for p in (tmp_path / "runs").rglob("seed*.log")} == logs


@pytest.mark.slow  # one 2 000-iteration digits_dcgan run and the detector (9 min beside a job): `make test-all`
def test_g_trained_against_bgc_at_p_0_3_does_not_draw_flipped_or_turned_digits(tmp_path):
    """Karras et al.'s leak test at p ≤ 0.6, where it holds at this budget: p = 0.3. Measured (RESULTS, 3 seeds):
    confidently non-identity 0.052–0.086 at p = 0.3, 0.070–0.075 without augmentation, 0.199–0.301 at p = 0.6."""
    ada_leak.main(["--cells", "p0.3", "--seeds", "1", "--root", str(tmp_path / "runs"), "--out", str(tmp_path / "out")])
    result = json.loads((tmp_path / "out" / "ada_leak_digits_dcgan.json").read_text())
    assert result["calibration"]["floor_confident"] < 0.1  # the detector reads real digits as upright
    (row,) = result["rows"]
    assert row["finished"] and row["leak_confident"] < 0.15, row["leak_confident"]
