"""ganlab-report (ganlab/report/sweep.py): results table + plots of a ``ganlab-train -m`` sweep directory.

Unit tests on synthetic sweeps with the real multirun layout (nested ``callbacks/metrics=...`` job directories, a
failed job with failed.json, an incomplete one), and one end-to-end test on a real 2-D ring multirun.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from clirun import run_either
from matplotlib.image import imread

from ganlab.report import sweep as report

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "ganlab-report"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- synthetic sweeps
def image_metrics(fid: float, inception: float, modes: int) -> dict:
    return {
        "classifier_fid": fid,
        "classifier_is": inception,
        "classifier_is_std": 0.125,
        "classifier_kid": fid / 100,
        "classifier_kid_std": 0.0193,
        "iteration": 400,
        "mode_kl": 0.1 + fid / 1000,
        "modes": modes,
        "n_modes": 10,
        "provenance": {"extractor": "classifier", "n_fake": 10000, "note": "not comparable with Inception"},
    }


def make_job(
    sweep: Path,
    num: int,
    overrides: list[str],
    config: dict,
    metrics: dict | None = None,
    failed: dict | str | None = None,
) -> Path:
    """A job directory as Hydra's basic launcher writes it: ``<num>_<override_dirname>`` (sorted overrides,
    joined by ``,``; a group override such as ``callbacks/metrics=classifier`` nests the directory)."""
    job = sweep / f"{num}_{','.join(sorted(overrides))}"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (job / "checkpoints").mkdir()
    if metrics is not None:
        (job / "metrics.json").write_text(metrics if isinstance(metrics, str) else json.dumps(metrics, indent=2))
    if failed is not None:
        (job / "failed.json").write_text(failed if isinstance(failed, str) else json.dumps(failed))
    return job


def image_config(loss: str, k: int) -> dict:
    return {
        "name": "mnist_dcgan",
        "loss": {"_target_": "ganlab.losses.GANLoss", "name": loss},
        "model": {"unroll_steps": k, "max_iterations": 400},
        "paths": {"run_dir": "${hydra:runtime.output_dir}"},  # an interpolation the report cannot resolve
        "seed": 0,
    }


# job number -> (loss, k, classifier_fid, classifier_is, modes); None = failed / incomplete
IMAGE_JOBS = {
    0: ("minimax", 0, 30.5, 2.5, 6),
    1: ("minimax", 2, 20.25, 5.0, 9),
    2: ("minimax", 5, 5.0, 9.0, 10),  # failed (after writing metrics.json of an earlier epoch): not ranked, not plotted
    3: ("lsgan", 0, 25.0, 6.5, 8),
    4: ("lsgan", 2, 12.5, 4.0, 10),
    10: ("lsgan", 5, None, None, None),  # incomplete; 10 sorts after 4 (numeric, not by name)
}
FAILURE = {"error": "CUDA out of memory | while unrolling", "type": "RuntimeError"}


@pytest.fixture
def image_sweep(tmp_path) -> Path:
    """``ganlab-train -m experiment=mnist_dcgan callbacks/metrics=classifier loss=minimax,lsgan
    model.unroll_steps=0,2,5`` with one failed and one incomplete job."""
    sweep = tmp_path / "multirun" / "2026-11-23_12-17-32"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    for num, (loss, k, fid, inception, modes) in IMAGE_JOBS.items():
        overrides = [
            "experiment=mnist_dcgan",
            f"loss={loss}",
            f"model.unroll_steps={k}",
            "callbacks/metrics=classifier",
        ]
        metrics = None
        if fid is not None:
            nested = image_metrics(fid, inception, modes)
            flat = {f"val/{key}": float(v) for key, v in nested.items() if key not in ("provenance", "iteration")}
            metrics = {"epoch": 1, "iteration": 400 + num, "last_checkpoint": "x.ckpt", "image_metrics": nested, **flat}
        make_job(sweep, num, overrides, image_config(loss, k), metrics, FAILURE if num == 2 else None)
    return sweep


def ring_config(k: int) -> dict:
    return {"name": "ring_gan", "loss": {"name": "non_saturating"}, "model": {"unroll_steps": k}, "seed": 0}


# job number -> (k, seed, modes, hq, source of the numbers)
RING_JOBS = {
    0: (0, 0, 8, 80.0, "mode_coverage"),
    1: (0, 1, 8, 90.0, "mode_coverage"),
    2: (1, 0, 7, 99.0, "val"),  # older metrics.json: only the flat val/* keys
    3: (1, 1, 8, 90.0, "mode_coverage"),
}


@pytest.fixture
def ring_sweep(tmp_path) -> Path:
    """``ganlab-train -m experiment=ring_gan model.unroll_steps=0,1 seed=0,1`` (loss only in config.yaml)."""
    sweep = tmp_path / "ring_sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    for num, (k, seed, modes, hq, source) in RING_JOBS.items():
        if source == "val":
            metrics = {"iteration": 1500, "val/modes": float(modes), "val/hq": hq, "val/mode_kl": None}
        else:
            coverage = {"modes": modes, "n_modes": 8, "hq": hq, "mode_kl": 0.01 * num, "n_samples": 2500}
            metrics = {"iteration": 1500, "mode_coverage": coverage, "val/modes": float(modes), "val/hq": hq}
        config = ring_config(k)
        config["seed"] = seed
        make_job(sweep, num, ["experiment=ring_gan", f"model.unroll_steps={k}", f"seed={seed}"], config, metrics)
    return sweep


def load(sweep: Path) -> list[report.Job]:
    return [report.load_job(p, sweep) for p in report.discover_jobs(sweep)]


def table_of(sweep: Path, **kwargs) -> report.Table:
    return report.build_table(load(sweep), kwargs.pop("x", "model.unroll_steps"), kwargs.pop("hue", "loss"), **kwargs)


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --------------------------------------------------------------------------- reading the sweep
def test_discover_jobs_finds_nested_job_dirs_in_job_number_order(image_sweep):
    paths = report.discover_jobs(image_sweep)
    assert [report.job_number(p, image_sweep) for p in paths] == [0, 1, 2, 3, 4, 10]
    first = paths[0].relative_to(image_sweep)
    assert first.parts[0] == "0_callbacks"  # the group override's "/" nests the job directory
    assert first.parts[1].startswith("metrics=classifier,experiment=mnist_dcgan,loss=minimax")
    assert all((p / ".hydra" / "overrides.yaml").is_file() for p in paths)


def test_load_job_reads_metrics_status_and_errors(image_sweep):
    jobs = {job.num: job for job in load(image_sweep)}
    ok = jobs[1]
    assert ok.status == "ok" and ok.error == ""
    assert ok.iteration == 401
    assert ok.overrides["callbacks/metrics"] == "classifier"
    assert ok.overrides["model.unroll_steps"] == "2"
    assert ok.metrics["classifier_fid"] == 20.25
    assert ok.metrics["modes"] == 9 and isinstance(ok.metrics["modes"], int)  # nested value, not val/modes 9.0
    assert "provenance" not in ok.metrics and "iteration" not in ok.metrics
    assert jobs[2].status == "failed"
    assert jobs[2].error == "RuntimeError: CUDA out of memory | while unrolling"
    assert jobs[2].metrics["classifier_fid"] == 5.0  # kept for the table, but the job is not ranked / plotted
    assert jobs[10].status == "interrupted" and "no metrics.json" in jobs[10].error


def test_metrics_fall_back_to_val_keys(ring_sweep):
    jobs = {job.num: job for job in load(ring_sweep)}
    assert jobs[2].metrics == {"modes": 7.0, "hq": 99.0, "mode_kl": None}
    assert jobs[0].metrics == {"modes": 8, "n_modes": 8, "hq": 80.0, "mode_kl": 0.0, "n_samples": 2500}


def test_intra_fid_and_reconstruction_sections_are_metrics_and_lower_is_better(tmp_path):
    sweep = tmp_path / "sweep"
    for num, (intra, gap) in enumerate([(40.0, 0.02), (30.0, 0.05)]):
        metrics = {
            "iteration": 600,
            "intra_fid": {"classifier_intra_fid": intra, "classifier_intra_fid_per_class": [intra] * 10, "split": "x"},
            "reconstruction": {"reconstruction_mse_train": 0.3, "reconstruction_gap": gap, "evaluated_with": "ema"},
        }
        make_job(sweep, num, [f"seed={num}"], image_config("hinge", 0) | {"seed": num}, metrics)
    jobs = load(sweep)
    assert jobs[0].metrics == {
        "classifier_intra_fid": 40.0,
        "reconstruction_mse_train": 0.3,
        "reconstruction_gap": 0.02,
    }
    assert [row["job"] for row in report.build_table(jobs, "seed", "seed", sort="classifier_intra_fid").rows] == [1, 0]
    assert [row["job"] for row in report.build_table(jobs, "seed", "seed", sort="reconstruction_gap").rows] == [0, 1]


def test_partial_metrics_json_is_incomplete_and_failed_json_wins(tmp_path):
    sweep = tmp_path / "sweep"
    make_job(sweep, 0, ["loss=lsgan"], image_config("lsgan", 0), metrics='{"iteration": 40, "image_metr')
    make_job(sweep, 1, ["loss=wgan_gp"], image_config("wgan_gp", 0), metrics='{"iter', failed="{not json")
    make_job(sweep, 2, ["loss=hinge"], image_config("hinge", 0), failed={"error": "boom", "type": "ValueError"})
    jobs = {job.num: job for job in load(sweep)}
    assert (jobs[0].status, jobs[0].error) == ("interrupted", "metrics.json is partial (unreadable JSON)")
    assert (jobs[1].status, jobs[1].error) == ("failed", "failed.json is unreadable")
    assert (jobs[2].status, jobs[2].error) == ("failed", "ValueError: boom")


# --------------------------------------------------------------------------- the table
def test_table_ranks_by_classifier_fid_then_failed_and_incomplete_last(image_sweep):
    table = table_of(image_sweep)
    assert table.sort == ["classifier_fid"]
    assert [row["job"] for row in table.rows] == [4, 1, 3, 0, 2, 10]
    assert [row["rank"] for row in table.rows] == [1, 2, 3, 4, None, None]
    assert [row["status"] for row in table.rows] == ["ok"] * 4 + ["failed", "interrupted"]
    assert [row["loss"] for row in table.rows] == ["lsgan", "minimax", "lsgan", "minimax", "minimax", "lsgan"]
    assert [row["model.unroll_steps"] for row in table.rows] == [2, 2, 0, 0, 5, 5]
    assert table.rows[4]["error"] == "RuntimeError: CUDA out of memory | while unrolling"


def test_table_sort_higher_is_better_metric(image_sweep):
    table = table_of(image_sweep, sort="classifier_is")
    assert [row["job"] for row in table.rows] == [3, 1, 4, 0, 2, 10]
    assert [row["rank"] for row in table.rows][:4] == [1, 2, 3, 4]


def test_swept_columns_are_the_overrides_that_differ(image_sweep, ring_sweep):
    table = table_of(image_sweep)
    assert table.params == ["loss", "model.unroll_steps"]  # experiment and callbacks/metrics are the same in all
    headers = [header for _, header in table.columns]
    assert headers[:5] == ["rank", "job", "status", "loss", "k"]
    assert "experiment" not in headers and "callbacks/metrics" not in headers
    assert headers[-1] == "error"
    shown = table.metrics
    assert shown[:3] == ["classifier_fid", "classifier_kid", "classifier_is"]
    assert not any(m.endswith("_std") for m in shown) and "n_modes" not in shown
    assert "classifier_is_std" in table.all_metrics and "n_modes" in table.all_metrics

    ring = table_of(ring_sweep)
    assert ring.params == ["loss", "model.unroll_steps", "seed"]
    assert {row["loss"] for row in ring.rows} == {"non_saturating"}  # from config.yaml: not an override here
    assert "error" not in [key for key, _ in ring.columns]


def test_default_sort_modes_then_hq_with_shared_ranks(ring_sweep):
    table = table_of(ring_sweep)
    assert table.sort == ["modes", "hq"]
    assert [row["job"] for row in table.rows] == [1, 3, 0, 2]
    assert [row["rank"] for row in table.rows] == [1, 1, 3, 4]  # (8, 90) twice, then (8, 80), then (7, 99)


def test_metrics_option_selects_columns(image_sweep):
    table = table_of(image_sweep, metrics=["modes", "classifier_kid_std"])
    assert table.metrics == ["modes", "classifier_kid_std"]
    assert [key for key, _ in table.columns][-3:] == ["modes", "classifier_kid_std", "error"]


# --------------------------------------------------------------------------- outputs
def test_csv_round_trip_equals_metrics_json(image_sweep, tmp_path):
    out = tmp_path / "out"
    assert report.main([str(image_sweep), "--out", str(out)]) == 0
    with open(out / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["job"]) for row in rows] == [4, 1, 3, 0, 2, 10]
    compared = 0
    for row in rows:
        metrics_file = image_sweep / row["dir"] / "metrics.json"
        if not metrics_file.exists():
            assert row["classifier_fid"] == "" and row["status"] == "interrupted"
            continue
        assert (row["rank"] == "") == (row["status"] == "failed")
        nested = json.loads(metrics_file.read_text())["image_metrics"]
        for key, value in nested.items():
            if key not in ("provenance", "iteration"):
                assert float(row[key]) == value, (row["job"], key)  # full precision, every metric
                compared += 1
        assert int(row["iteration"]) == json.loads(metrics_file.read_text())["iteration"]
    assert compared == 5 * 8
    failed = next(row for row in rows if row["status"] == "failed")
    assert failed["error"] == "RuntimeError: CUDA out of memory | while unrolling"
    assert (failed["loss"], failed["model.unroll_steps"]) == ("minimax", "5")


def test_markdown_report(image_sweep, tmp_path, capsys):
    out = tmp_path / "out"
    assert report.main([str(image_sweep), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert text in capsys.readouterr().out  # printed too
    assert f"`{image_sweep}`" in text
    assert "jobs: 6 (ok 4, failed 1, interrupted 1, not started 0)" in text
    assert "ranked by: classifier_fid (lower is better)" in text
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| rank | job | status | loss | k | iteration | classifier_fid |")
    assert len(lines) == 2 + 6
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]
    assert cells[0][:7] == ["1", "4", "ok", "lsgan", "2", "404", "12.500"]
    assert cells[1][:7] == ["2", "1", "ok", "minimax", "2", "401", "20.250"]
    assert cells[4][:7] == ["", "2", "failed", "minimax", "5", "402", "5"]
    assert cells[4][-1] == "RuntimeError: CUDA out of memory \\| while unrolling"  # escaped: one cell
    assert cells[5][2] == "interrupted"
    assert "![classifier_fid_vs_k](classifier_fid_vs_k.png)" in text


def test_number_format():
    assert [report.fmt(v) for v in (12.5, 224.2159423828125, 0.000275995, 10, 10.0, None, float("nan"))] == [
        "12.500",
        "224.216",
        "0.000276",
        "10",
        "10",
        "",
        "nan",
    ]


def test_plots_one_line_per_hue_value(image_sweep, tmp_path):
    table = table_of(image_sweep)
    fig = report.plot_metric(table, "classifier_fid", "model.unroll_steps", "loss")
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"lsgan", "minimax"}  # failed / incomplete jobs (k = 5) are not plotted
    assert list(lines["minimax"].get_xdata()) == [0, 2]
    assert list(lines["minimax"].get_ydata()) == [30.5, 20.25]
    assert list(lines["lsgan"].get_ydata()) == [25.0, 12.5]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("k", "classifier_fid")
    assert "classifier_fid vs k" in ax.get_title()
    assert ax.get_legend() is not None

    out = tmp_path / "out"
    assert report.main([str(image_sweep), "--out", str(out)]) == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(f"{m}_vs_k.png" for m in table.metrics)
    for name in pngs:
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
        assert imread(out / name).shape[:2] == (400, 600)


def test_plot_averages_repeats(ring_sweep):
    table = table_of(ring_sweep)
    fig = report.plot_metric(table, "hq", "model.unroll_steps", "loss")
    line = fig.axes[0].get_lines()[0]  # one loss; seeds 0 and 1 averaged
    assert list(line.get_xdata()) == [0, 1]
    assert list(line.get_ydata()) == [85.0, 94.5]
    # error bars: mean ± sample sd of the seeds (80, 90 → ± 7.07; 99, 90 → ± 6.36)
    (bars,) = fig.axes[0].containers
    segments = bars.lines[2][0].get_segments()
    assert [tuple(seg[:, 1].round(2)) for seg in segments] == [(77.93, 92.07), (88.14, 100.86)]
    assert "mean ± sd of ≤ 2 seeds" in fig.axes[0].get_title()
    assert report.plot_metric(table, "mode_kl", "seed", "loss") is not None
    assert report.plot_metric(table, "no_such_metric", "model.unroll_steps", "loss") is None


def test_x_not_swept_writes_no_plots(image_sweep, tmp_path, capsys):
    out = tmp_path / "out"
    assert report.main([str(image_sweep), "--out", str(out), "--x", "experiment"]) == 0
    assert "--x experiment is not swept" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.md"]


def test_other_x_and_hue(ring_sweep, tmp_path):
    out = tmp_path / "out"
    assert report.main([str(ring_sweep), "--out", str(out), "--x", "seed", "--hue", "model.unroll_steps"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["hq_vs_seed.png", "mode_kl_vs_seed.png", "modes_vs_seed.png"]


def test_rewrite_replaces_and_leaves_no_temp_files(image_sweep, capsys):
    assert report.main([str(image_sweep)]) == 0
    out = image_sweep / "report"
    first = (out / "report.md").read_text()
    assert report.main([str(image_sweep), "--metrics", "modes", "--sort", "modes"]) == 0
    second = (out / "report.md").read_text()
    assert second != first and "| modes | error |" in second and "classifier_fid |" not in second
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert len(report.discover_jobs(image_sweep)) == 6  # the report directory is not a job


def test_write_atomic_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "report.md"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        report.write_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


# --------------------------------------------------------------------------- bad input
BAD = [
    pytest.param(lambda s, t: [str(t / "nope")], "does not exist", id="missing-dir"),
    pytest.param(lambda s, t: [str(s / "multirun.yaml")], "is not a directory", id="not-a-dir"),
    pytest.param(lambda s, t: [str(t / "empty")], "no job directories (.hydra/overrides.yaml)", id="no-jobs"),
    pytest.param(lambda s, t: [str(s), "--x", "model.k"], "unknown --x 'model.k'", id="bad-x"),
    pytest.param(lambda s, t: [str(s), "--hue", "optimizer"], "unknown --hue 'optimizer'", id="bad-hue"),
    pytest.param(lambda s, t: [str(s), "--sort", "fid"], "unknown --sort 'fid'; accepted: classifier_fid", id="sort"),
    pytest.param(lambda s, t: [str(s), "--metrics", "modes,FID"], "unknown --metrics 'FID'", id="bad-metrics"),
    pytest.param(lambda s, t: [str(s), "--metrics", ","], "empty --metrics", id="empty-metrics"),
    pytest.param(lambda s, t: [str(s), "--out", str(s / "multirun.yaml")], "is not a directory", id="out-file"),
    pytest.param(lambda s, t: [str(s), "--bogus"], "unrecognized arguments: --bogus", id="unknown-option"),
    pytest.param(lambda s, t: [], "the following arguments are required: SWEEP_DIR", id="no-args"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_input_is_one_line_exit_2_nothing_written(image_sweep, tmp_path, capsys, argv, message):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    before = snapshot(tmp_path)
    assert report.main(argv(image_sweep, tmp_path)) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ganlab-report: error: ") and message in lines[0], lines[0]
    assert "accepted" in lines[0] or "--help" in lines[0]
    assert captured.out == ""
    assert snapshot(tmp_path) == before


def test_bad_key_names_the_accepted_ones(image_sweep, capsys):
    assert report.main([str(image_sweep), "--x", "unroll"]) == 2
    err = capsys.readouterr().err
    for key in ("experiment", "loss", "model.unroll_steps", "callbacks/metrics"):
        assert key in err
    assert report.main([str(image_sweep), "--metrics", "fid"]) == 2
    err = capsys.readouterr().err
    assert "accepted: classifier_fid, classifier_kid, classifier_is, modes, mode_kl" in err


def test_x_from_config_when_not_an_override(image_sweep, tmp_path):
    out = tmp_path / "out"
    assert report.main([str(image_sweep), "--out", str(out), "--x", "model.max_iterations"]) == 0  # config key
    assert not list(out.glob("*.png"))  # one value everywhere: no plots


def test_the_console_script_runs(image_sweep, tmp_path):
    bad = subprocess.run([str(SCRIPT), str(tmp_path / "nope")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and bad.stderr.startswith("ganlab-report: error:"), bad.stderr
    good = subprocess.run(
        [str(SCRIPT), str(image_sweep), "--out", str(tmp_path / "r")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "r" / "report.md").read_text() in good.stdout


# --------------------------------------------------------------------------- end to end
def test_real_multirun_on_the_ring(tmp_path):
    """A real 2 × 2 ``ganlab-train -m`` sweep on the ring (``main`` in this process), then the report script."""
    proc = run_either(
        False,
        "ganlab-train",
        [
            "-m",
            "experiment=ring_unrolled",
            "loss=non_saturating,lsgan",
            "model.unroll_steps=0,1",
            "data.iterations_per_epoch=20",
            "data.batch_size=64",
            "model.max_iterations=20",
            "trainer.enable_progress_bar=false",
        ],
        tmp_path,
        300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sweep,) = (tmp_path / "multirun").iterdir()
    result = subprocess.run([str(SCRIPT), str(sweep)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = sweep / "report"
    with open(out / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert {row["status"] for row in rows} == {"ok"}
    assert {(row["loss"], row["model.unroll_steps"]) for row in rows} == {
        (loss, k) for loss in ("non_saturating", "lsgan") for k in ("0", "1")
    }
    for row in rows:
        assert int(row["iteration"]) == 20
        assert 0 <= float(row["modes"]) <= 8 and 0 <= float(row["hq"]) <= 100
    header = next(line for line in (out / "report.md").read_text().splitlines() if line.startswith("| rank"))
    assert "| loss | k |" in header and "| modes |" in header and "| hq |" in header
    assert "jobs: 4 (ok 4, failed 0, interrupted 0, not started 0)" in result.stdout
    for name in ("modes_vs_k.png", "hq_vs_k.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE


# --------------------------------------------------------------------------- seeds: cells of a comparison
# (loss, k) -> classifier_fid per seed 0, 1, 2; lsgan k=0 seed 0 collapsed (FID 200, 1 mode)
SEED_FIDS = {
    ("non_saturating", 0): (24.0, 26.0, 25.0),
    ("lsgan", 0): (200.0, 30.0, 34.0),
    ("lsgan", 2): (20.0, 22.0, 27.0),
}


@pytest.fixture
def seed_sweep(tmp_path) -> Path:
    """``ganlab-train -m seed=0,1,2 experiment=mnist_dcgan loss=… model.unroll_steps=…`` (three cells, 9 jobs)."""
    sweep = tmp_path / "multirun" / "2026-12-01_10-00-00"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    num = 0
    for (loss, k), fids in SEED_FIDS.items():
        for seed, fid in enumerate(fids):
            modes = 1 if fid > 100 else 10
            nested = image_metrics(fid, 9.0 - fid / 50, modes)
            config = image_config(loss, k) | {"seed": seed}
            overrides = [f"seed={seed}", "experiment=mnist_dcgan", f"loss={loss}", f"model.unroll_steps={k}"]
            make_job(sweep, num, overrides, config, {"iteration": 600, "image_metrics": nested})
            num += 1
    return sweep


def test_summarise_mean_sd_and_t_interval():
    import numpy as np
    from scipy import stats

    values = [24.0, 26.0, 25.5, 21.0]
    s = report.summarise(values)
    assert s.n == 4 and s.mean == pytest.approx(np.mean(values)) and s.sd == pytest.approx(np.std(values, ddof=1))
    low, high = stats.t.interval(0.95, 3, loc=np.mean(values), scale=stats.sem(values))
    assert s.ci == (pytest.approx(low), pytest.approx(high))
    assert report.summarise([3.0]) == report.Stats(1, 3.0, None, None)
    assert report.summarise([float("nan"), 2.0, 4.0]).mean == 3.0  # a diverged seed's NaN is not averaged
    assert report.summarise([]) is None


def test_jobs_that_differ_only_by_seed_form_one_cell(seed_sweep):
    cells = report.group_cells(load(seed_sweep))
    assert len(cells) == 3 and all(len(c.jobs) == 3 for c in cells)
    cell = next(c for c in cells if dict(c.key)["loss"] == "lsgan" and dict(c.key)["model.unroll_steps"] == "0")
    assert cell.values("classifier_fid") == [(0, 200.0), (1, 30.0), (2, 34.0)]
    assert cell.collapsed() == [(0, "modes 1 vs 10")]
    assert cell.note() == "1/3 seeds collapsed (seed 0: modes 1 vs 10)"
    healthy = next(c for c in cells if dict(c.key)["loss"] == "non_saturating")
    assert healthy.collapsed() == [] and healthy.note() == ""


def test_fid_far_above_the_best_seed_is_a_collapse_without_mode_counts(seed_sweep):
    jobs = load(seed_sweep)
    for job in jobs:
        job.metrics.pop("modes")
    cell = next(
        c for c in report.group_cells(jobs) if dict(c.key)["loss"] == "lsgan" and c.stats("classifier_fid").mean > 80
    )
    assert cell.collapsed() == [(0, "classifier_fid 200 vs 30")]


def test_cells_report_mean_sd_interval_and_the_disagreement(seed_sweep, tmp_path, capsys):
    out = tmp_path / "out"
    assert report.main([str(seed_sweep), "--out", str(out), "--metrics", "classifier_fid,modes"]) == 0
    md = (out / "report.md").read_text()
    assert "## Cells: mean ± sd over seeds" in md and "- cells: 3" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| rank")]
    # ranked by mean FID: lsgan k=2 (23), non_saturating k=0 (25), lsgan k=0 (88)
    assert [r.split(" | ")[1:3] for r in rows] == [["lsgan", "2"], ["non_saturating", "0"], ["lsgan", "0"]]
    s = report.summarise([24.0, 26.0, 25.0])
    assert f"25 ± 1 [{report.fmt(s.ci[0])}, {report.fmt(s.ci[1])}]" in rows[1]
    assert "3 (0,1,2)" in rows[1] and "1/3 seeds collapsed (seed 0: modes 1 vs 10)" in rows[2]
    assert "## Single jobs" not in md  # per-seed rows only on request
    with (out / "cells.csv").open() as handle:
        cells = list(csv.DictReader(handle))
    assert [c["loss"] for c in cells] == ["lsgan", "non_saturating", "lsgan"]
    assert cells[2]["classifier_fid_per_seed"] == "0:200.0 1:30.0 2:34.0"
    assert float(cells[1]["classifier_fid_sd"]) == pytest.approx(1.0) and cells[1]["n_seeds"] == "3"
    assert float(cells[1]["classifier_fid_ci_low"]) == pytest.approx(s.ci[0])
    # the plot: one line per loss with error bars
    fig = report.plot_metric(report.build_table(load(seed_sweep), "model.unroll_steps", "loss"), "classifier_fid",
                             "model.unroll_steps", "loss")  # fmt: skip
    assert len(fig.axes[0].containers) == 2


def test_per_seed_lists_the_jobs_and_several_sweeps_read_as_one(seed_sweep, tmp_path):
    out = tmp_path / "out"
    assert report.main([str(seed_sweep), "--out", str(out), "--per-seed"]) == 0
    md = (out / "report.md").read_text()
    assert "## Single jobs" in md and md.count("| ok |") == 9
    # the same sweep split into two directories (e.g. run in parallel): the same cells
    first, second = tmp_path / "a" / "s1", tmp_path / "b" / "s2"
    for target, keep in ((first, range(0, 5)), (second, range(5, 9))):
        target.mkdir(parents=True)
        (target / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
        for job in report.discover_jobs(seed_sweep):
            if report.job_number(job, seed_sweep) in keep:
                import shutil

                shutil.copytree(job, target / job.name)
    split = tmp_path / "split"
    assert report.main([str(first), str(second), "--out", str(split)]) == 0
    assert (split / "cells.csv").read_text() == (out / "cells.csv").read_text()
    assert "- sweep: `" + str(first) + "`" in (split / "report.md").read_text()


# --------------------------------------------------------------------------- ganlab-report curves
def test_curves_average_the_seeds_of_a_cell_at_each_logged_iteration(tmp_path, capsys):
    from ganlab.report import curves

    sweep = tmp_path / "sweep"
    (sweep / "multirun.yaml").parent.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    fids = {0: [30.0, 20.0, 18.0], 1: [32.0, 22.0], 2: [28.0, 21.0, 17.0]}  # seed 1 stopped before 1 800
    for seed, values in fids.items():
        job = make_job(sweep, seed, [f"seed={seed}", "loss=hinge"], image_config("hinge", 0) | {"seed": seed}, {})
        (job / "csv").mkdir()
        rows = ["epoch,step,train/d_loss,val/classifier_fid"] + ["0,9,0.5,"]  # a training row: no val value
        rows += [f"{i},{600 * (i + 1) - 1},,{v}" for i, v in enumerate(values)]
        (job / "csv" / "metrics.csv").write_text("\n".join(rows) + "\n")
    assert curves.main([str(sweep)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("(3 seeds: 0, 1, 2)")
    assert out[1] == "  iteration    600: classifier_fid 30 ± 2   per seed: 30, 32, 28"
    assert out[2].startswith("  iteration   1200: classifier_fid 21 ± 1 ")
    assert len(out) == 3  # 1 800: not every seed got there
    assert curves.main([str(sweep), "--out", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "classifier_fid_curves.png").read_bytes().startswith(PNG_SIGNATURE)
    capsys.readouterr()
    assert curves.main([str(sweep), "--metric", "fid"]) == 2
    assert "no job has val/fid in auto records" in capsys.readouterr().err


def test_curves_read_metrics_json_as_the_final_point_and_source_picks_the_reader(tmp_path, capsys):
    from ganlab.report import curves

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    for seed, hq in [(0, 40.0), (1, 50.0)]:
        metrics = {"iteration": 2500, "mode_coverage": {"modes": 8, "hq": hq}, "val/hq": hq}
        make_job(sweep, seed, [f"seed={seed}"], ring_config(0) | {"seed": seed}, metrics)
    assert curves.main([str(sweep), "--metric", "hq"]) == 0  # no CSV, no W&B: metrics.json
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "  iteration   2500: hq 45 ± 7.071   per seed: 40, 50"
    assert curves.main([str(sweep), "--metric", "hq", "--source", "csv"]) == 2
    assert "no job has val/hq in csv records" in capsys.readouterr().err
    assert curves.main([str(sweep), "--metric", "hq", "--source", "tensorboard"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "invalid choice: 'tensorboard'" in err and "'wandb'" in err


def test_a_killed_sweep_lists_finished_interrupted_failed_and_never_started_jobs(tmp_path, capsys):
    sweep = tmp_path / "killed"
    sweep.mkdir()
    task = ["experiment=ring_gan", "seed=0,1", "model.unroll_steps=0,1"]  # four jobs: (0,0) (0,1) (1,0) (1,1)
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"mode": "MULTIRUN", "overrides": {"task": task}}}))
    config = ring_config(0) | {"model": {"unroll_steps": 0, "max_iterations": 1500}}
    coverage = {"modes": 8, "n_modes": 8, "hq": 80.0, "n_samples": 2500}
    make_job(sweep, 0, ["experiment=ring_gan", "seed=0", "model.unroll_steps=0"], config,
             {"iteration": 1500, "mode_coverage": coverage})  # fmt: skip
    make_job(sweep, 1, ["experiment=ring_gan", "seed=0", "model.unroll_steps=1"], config,
             {"iteration": 500, "mode_coverage": coverage})  # a preempted fit wrote its iteration  # fmt: skip
    make_job(sweep, 2, ["experiment=ring_gan", "seed=1", "model.unroll_steps=0"], config, None, FAILURE)
    jobs = {job.num: job for job in load(sweep)}
    assert jobs[1].status == "interrupted" and jobs[1].error.startswith("iteration 500 of 1500")
    missing = report.unstarted_jobs(sweep, list(jobs.values()))
    assert [(job.num, job.status, job.overrides["seed"], job.overrides["model.unroll_steps"]) for job in missing] == [
        (3, "not started", "1", "1")
    ]
    assert report.main([str(sweep)]) == 0
    text = capsys.readouterr().out
    assert "jobs: 4 (ok 1, failed 1, interrupted 1, not started 1)" in text
    assert "| not started |" in text and "iteration 500 of 1500 (killed, preempted or still running)" in text


def test_each_metric_states_its_own_seed_count_and_intervals_stay_in_range(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    per_seed = [(8, 90.0, 0.1), (1, 2.0, None), (2, 1.0, 1.5)]  # seed 1: no mode KL (modes = 0 somewhere: NaN → null)
    for seed, (modes, hq, kl) in enumerate(per_seed):
        coverage = {"modes": modes, "n_modes": 8, "hq": hq, "mode_kl": kl, "n_samples": 2500}
        make_job(sweep, seed, ["experiment=ring_gan", f"seed={seed}"], ring_config(0) | {"seed": seed},
                 {"iteration": 1500, "mode_coverage": coverage})  # fmt: skip
    (cell,) = report.group_cells(load(sweep))
    modes, hq, kl = cell.stats("modes"), cell.stats("hq"), cell.stats("mode_kl")
    assert modes.ci[0] == 0.0 and modes.ci[1] <= 8.0 and hq.ci[0] == 0.0  # the t-interval alone goes below 0
    assert (modes.n, kl.n) == (3, 2)
    assert report.main([str(sweep)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1 |"))
    assert "(2 of 3 seeds)" in row.split("|")[-3] and "of 3 seeds" not in row.split("|")[-5]
    cells = list(csv.DictReader((sweep / "report" / "cells.csv").open()))
    assert (cells[0]["modes_n"], cells[0]["mode_kl_n"], cells[0]["modes_ci_low"]) == ("3", "2", "0.0")
