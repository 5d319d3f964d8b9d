"""Sweeps beyond the product (issue #32): ``hydra/launcher=parallel`` (the joblib launcher, jobs × threads = cores)
gives the same results as the default launcher; ``hydra/sweeper=ring_search`` (Optuna) runs trials that return the
configured ``objective``; the preflight checks a search space's choices and interval ends before anything runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from clirun import run_either, run_script

from ganlab.composition.resolvers import cores, parallel_jobs
from ganlab.preflight.sweep_rules import search_values
from ganlab.report.objective import objective_value

TINY = ["experiment=ring_gan", "model.max_iterations=20", "data.iterations_per_epoch=10",
        "trainer.enable_progress_bar=false", "callbacks.mode_coverage.n_samples=200", "logger=none"]  # fmt: skip


def coverage(folder: Path) -> dict[str, tuple]:
    return {
        job.name: tuple(json.loads((job / "metrics.json").read_text())["mode_coverage"][k] for k in ("modes", "hq"))
        for job in sorted(p for p in folder.iterdir() if p.is_dir())
    }


def test_the_parallel_launcher_runs_the_same_jobs_with_the_same_results(tmp_path):
    args = ["-m", "seed=0,1", "model.unroll_steps=0,1", *TINY, "threads=1"]
    basic = run_script("ganlab-train", [*args, f"hydra.sweep.dir={tmp_path / 'basic'}"], tmp_path, 600)
    assert basic.returncode == 0, basic.stderr[-3000:]
    parallel = run_script("ganlab-train", [*args, "hydra/launcher=parallel", f"hydra.sweep.dir={tmp_path / 'par'}"],
                          tmp_path, 600)  # fmt: skip
    assert parallel.returncode == 0, parallel.stderr[-3000:]
    assert coverage(tmp_path / "basic") == coverage(tmp_path / "par") and len(coverage(tmp_path / "par")) == 4
    assert f"Joblib.Parallel(n_jobs={cores()}," in parallel.stdout + parallel.stderr  # one thread each: a job a core


def test_parallel_jobs_times_threads_fit_the_cores():
    assert parallel_jobs(None) == parallel_jobs(1) == cores()
    assert parallel_jobs(cores()) == 1 and parallel_jobs(10 * cores()) == 1


def test_objective_values():
    summary = {"iteration": 5, "mode_coverage": {"modes": 7, "hq": 55.0}, "image_metrics": {"classifier_fid": 12.5}}
    assert objective_value("modes_then_hq", summary) == pytest.approx(7.55)
    assert objective_value(["classifier_fid", "hq"], summary) == [12.5, 55.0]
    assert math.isnan(objective_value("modes_then_hq", None))  # a failed job: a failed trial
    assert math.isnan(objective_value("fid", summary))  # a metric the run did not produce


def test_search_values_are_every_choice_and_each_intervals_ends():
    axes, partial = search_values({"a": "choice(0, 2)", "b": "tag(log, interval(1e-4, 1e-2))", "c": "range(1, 3)"})
    assert axes == [["a=0", "a=2"], ["b=0.0001", "b=0.01"], ["c=1", "c=2"]] and partial
    assert search_values({"a": "choice(x, y)"}) == ([["a=x", "a=y"]], False)


def test_a_search_runs_trials_that_return_the_objective(tmp_path):
    sweep = tmp_path / "search"
    args = ["-m", "hydra/sweeper=ring_search", *TINY, "objective=modes_then_hq", "hydra.sweeper.n_trials=2",
            f"hydra.sweep.dir={sweep}"]  # fmt: skip
    proc = run_script("ganlab-train", args, tmp_path, 600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[ganlab] search: 12 settings of the space checked (every choice, each interval's ends)" in proc.stdout
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    values = [m + h / 100 for m, h in coverage(sweep).values()]
    assert len(values) == 2 and best["best_value"] == pytest.approx(max(values))


@pytest.mark.parametrize(
    "args, words",
    [
        (["optim.generator.lr=interval(0.001,0.01)"], "interval(…) is drawn by a search sweeper"),
        (["hydra/sweeper=ring_search", "objective=hq", "optim.generator.lr=interval(-1,0.01)"],
         "optim.generator.lr=-1.0 is invalid"),
        (["hydra/sweeper=ring_search", "objective=fidd"], "objective='fidd' is invalid; accepted: null, or one"),
    ],
)  # fmt: skip
def test_a_search_space_is_checked_before_anything_runs(tmp_path, args, words):
    proc = run_either(False, "ganlab-train", ["-m", "experiment=ring_gan", *args, f"hydra.sweep.dir={tmp_path / 's'}"],
                      tmp_path, 300)  # fmt: skip
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr[-2000:]
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1
    assert not (tmp_path / "s").exists()
