"""``experiments/bench/veegan.py`` at a tiny size: jobs run as ganlab-train processes into their own folders, a
finished job is read and not re-run, the table compares the mean's 95 % interval with the published mean."""

import json
import math

import pytest

from experiments.bench import veegan


def test_veegan_bench_runs_reads_and_does_not_rerun_finished_jobs(tmp_path, monkeypatch):
    argv = ["--presets", "ring_veegan", "--configs", "gan", "unrolled", "--seeds", "2", "--iterations", "4",
            "--eval-every", "2", "--workers", "2", "--root", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
            "--tag", "tiny", "--overrides", "model.generator.hidden=[8]", "model.discriminator.hidden=[8]",
            "data.batch_size=16", "model.unroll_steps=1"]  # fmt: skip
    veegan.main(argv)
    rows = json.loads((tmp_path / "out" / "veegan_tiny.json").read_text())["rows"]
    assert len(rows) == 4 and all(r["finished"] for r in rows)
    assert [p["iteration"] for p in rows[0]["curve"]] == [2, 4]
    table = (tmp_path / "out" / "veegan_tiny.md").read_text()
    assert "| ring_veegan | gan+tiny | 2 of 2 |" in table and "| 7.6 |" in table  # the published Unrolled GAN
    assert (tmp_path / "out" / "veegan_ring_veegan_unrolled+tiny.png").is_file()
    logs = {p: p.read_text() for p in (tmp_path / "runs").rglob("seed*.log")}
    veegan.main(argv)  # everything finished: read, not trained again
    assert {p: p.read_text() for p in (tmp_path / "runs").rglob("seed*.log")} == logs


def test_the_interval_contains_the_published_mean_or_says_no():
    assert veegan.cell([7.0, 8.0, 8.0, 7.0, 8.0], 7.6, 1)[3] == "yes"
    assert veegan.cell([8.0, 8.0, 8.0, 8.0, 7.9], 7.6, 1)[3] == "**no**"
    low, high = veegan.t_interval([1.0, 2.0, 3.0])
    assert low == pytest.approx(2 - 4.302653 / math.sqrt(3)) and high == pytest.approx(2 + 4.302653 / math.sqrt(3))
    assert math.isnan(veegan.t_interval([1.0])[0])
    assert veegan.t_interval([8.0, 1.0, 8.0], (0.0, 8.0)) == (0.0, 8.0)  # a count's interval stays in its range


def test_overrides_need_a_tag():
    with pytest.raises(SystemExit):
        veegan.main(["--overrides", "data.pool_size=100000", "--report-only"])
