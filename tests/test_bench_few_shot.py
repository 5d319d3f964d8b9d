"""``experiments/bench/few_shot.py`` at a tiny size on real MNIST: jobs as ganlab-train runs on a seeded subset of N
images, scored along training (classifier-FID, P/R/D/C, D's train−test gap), read and not re-run once finished, the
best and final FID tabled per cell."""

import json

import pytest

from experiments.bench import few_shot


def test_few_shot_bench_trains_scores_along_training_and_reads_finished_jobs(tmp_path, monkeypatch, mnist_classifier):
    monkeypatch.setenv("GANLAB_DATA_DIR", str(mnist_classifier.data_root))
    monkeypatch.setenv("GANLAB_CLASSIFIER_DIR", str(mnist_classifier.classifier_dir))
    argv = ["--sizes", "100", "--cells", "none", "ada", "--seeds", "1", "--iterations", "2", "--eval-every", "1",
            "--root", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--overrides",
            "callbacks.metrics.n_samples=200", "callbacks.d_overfit.n_images=100",
            "callbacks.sample_grid.n_samples=4"]  # fmt: skip
    few_shot.main(argv)
    rows = json.loads((tmp_path / "out" / "few_shot.json").read_text())["rows"]
    assert [(r["cell"], r["finished"]) for r in rows] == [("none", True), ("ada", True)]
    for r in rows:
        assert sorted(map(int, r["curve"])) == [1, 2]  # scored after every epoch (one batch of the 100 images)
        assert {"classifier_fid", "classifier_recall", "d_logit_gap", "d_sign_test"} <= r["curve"]["2"].keys()
    assert "d_logit_gap_aug" in rows[1]["curve"]["2"]  # ADA's D: also under its own policy
    config = (tmp_path / "runs" / "n100" / "ada" / "seed0" / ".hydra" / "config.yaml").read_text()
    assert "train_size: 100" in config and "subset_seed: 0" in config and "pipeline: bgc" in config
    table = (tmp_path / "out" / "few_shot.md").read_text()
    assert "| 100 | none | 1 (0) |" in table and "| 100 | ada | 1 (0) |" in table
    assert (tmp_path / "out" / "few_shot_fid.png").is_file() and (tmp_path / "out" / "few_shot_gap.png").is_file()
    logs = {p: p.read_text() for p in (tmp_path / "runs").rglob("seed*.log")}
    few_shot.main(argv)  # finished: read, not trained again
    assert {p: p.read_text() for p in (tmp_path / "runs").rglob("seed*.log")} == logs
    shorter = [*argv, "--out", str(tmp_path / "out1")]
    shorter[shorter.index("--iterations") + 1] = "1"
    few_shot.main(shorter)  # a budget below what was trained: the curve read up to it, nothing trained
    assert {p: p.read_text() for p in (tmp_path / "runs").rglob("seed*.log")} == logs
    rows = json.loads((tmp_path / "out1" / "few_shot.json").read_text())["rows"]
    assert all(r["finished"] and sorted(map(int, r["curve"])) == [1] for r in rows)


def test_an_evaluation_interval_that_is_not_whole_epochs_is_refused():
    job = {"size": 1000, "seed": 0, "cell": "none", "eval_every": 5, "overrides": []}  # 10 iterations an epoch
    with pytest.raises(SystemExit, match="not a whole number of epochs of 1000 images"):
        few_shot.overrides_of(job)
    assert "callbacks.metrics.every_n_epochs=2" in few_shot.overrides_of({**job, "eval_every": 20})


def test_the_paired_table_subtracts_the_same_seeds_unaugmented_run():
    def row(cell, seed, best, final):
        return {"size": 100, "cell": cell, "seed": seed, "best_fid": best, "classifier_fid": final}

    rows = [row("none", 0, 13.0, 16.0), row("none", 1, 14.0, 15.0)]
    rows += [row("ada", 1, 15.0, 14.0), row("ada", 0, 12.0, 17.0)]
    text = few_shot.paired_table(rows)
    # seed 0: 12 − 13 = −1, 17 − 16 = +1; seed 1: 15 − 14 = +1, 14 − 15 = −1 (paired by seed, not by order)
    assert "| 100 | ada | 2 (1,0) | 0.00 ± 1.41 (1.00, -1.00) | 1 of 2 | 0.00 ± 1.41 (-1.00, 1.00) | 1 of 2 |" in text
    assert few_shot.paired_table([r for r in rows if r["cell"] == "ada"]) == ""  # no unaugmented runs: no table
