"""``metrics.json`` is written atomically and durably, and a damaged one (cut by a crash) is moved aside and rebuilt
— before a resumed run trains, never as a crash after it (issue #33)."""

from __future__ import annotations

import json

from clirun import run_in_process

from ganlab.callbacks.metrics_json import write_metrics_json

RUN = ["experiment=ring_gan", "data.iterations_per_epoch=2", "callbacks.mode_coverage.n_samples=100",
       "trainer.enable_progress_bar=false", "logger=none"]  # fmt: skip


def test_a_damaged_file_is_set_aside_and_rebuilt(tmp_path, capsys):
    path = tmp_path / "metrics.json"
    path.write_text('{"iteration": 4, "mode_cov')
    assert write_metrics_json(path, {"iteration": 5}) == {"iteration": 5}
    assert json.loads(path.read_text()) == {"iteration": 5} and not list(path.parent.glob("*.tmp"))
    assert (tmp_path / "metrics.json.damaged").read_text() == '{"iteration": 4, "mode_cov'
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "was damaged" in line and "metrics.json.damaged" in line
    assert write_metrics_json(path, {"hq": float("nan")}) == {"iteration": 5, "hq": None}  # merged, NaN → null


def test_a_resume_with_a_damaged_metrics_json_rebuilds_it_before_training(tmp_path):
    run = tmp_path / "run"
    first = run_in_process("ganlab-train", [*RUN, "model.max_iterations=4", f"hydra.run.dir={run}"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    (run / "metrics.json").write_text((run / "metrics.json").read_text()[:20])  # cut by a crash
    resumed = run_in_process("ganlab-train", [*RUN, "model.max_iterations=8", f"hydra.run.dir={run}"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run / "metrics.json").read_text())["iteration"] == 8
    assert (run / "metrics.json.damaged").is_file() and "was damaged" in resumed.stderr
