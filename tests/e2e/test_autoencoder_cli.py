"""The kurtosis autoencoder through the console scripts: ``ganlab-train`` on digits (offline) and on real MNIST with
the classifier-metric callback scoring the decoder as a generator, ``ganlab-eval`` and ``ganlab-latent`` on its
checkpoints (AE interpolation through the encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import SMALL_METRICS_CALLBACK, run_either
from PIL import Image

TIMEOUT_S = 300


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> tuple[Path, str]:
    cwd = tmp_path_factory.mktemp("digits_ae")
    args = [
        "experiment=digits_kurtosis_ae",
        "trainer.max_epochs=2",
        "callbacks.latent_cdf.n_images=300",
        "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=5",
    ]
    proc = run_either(False, "ganlab-train", args, cwd, TIMEOUT_S)  # main in this process: no 7-s start-up
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (cwd / "outputs" / "train" / "digits_kurtosis_ae").iterdir()
    return run_dir, proc.stdout


def test_training_writes_the_reports_figures_and_latent_summary(digits_run):
    run_dir, stdout = digits_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    latent = metrics["latent"]
    assert latent["iteration"] == metrics["iteration"] == 2 * 28 and latent["n_codes"] == 300 * 100
    assert f"latent KS {latent['ks']:.3f}" in stdout and 0 < latent["ks"] < 1
    assert metrics["val/latent_ks"] == pytest.approx(latent["ks"])
    samples = {p.name for p in (run_dir / "samples").iterdir()}
    assert {"grid_final.png", "recon_final.png", "latent_cdf.png", "recon_epoch0001_iter0000056.png"} <= samples
    for name in ("grid_final.png", "recon_final.png", "latent_cdf.png"):
        with Image.open(run_dir / "samples" / name) as img:
            img.verify()
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train/image_mse", "train/z_mse", "train/z_mse_weighted", "train/z_weight", "val/latent_ks"} <= set(header)
    assert (run_dir / "curves.png").is_file()


def test_ae_interpolation_uses_the_encoder(digits_run):
    run_dir, _ = digits_run
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    tiny = ["pairs=2", "n_images=4", "restarts=2", "iterations=3"]
    for endpoints, method in (("auto", "encoder"), ("inversion", "inversion")):
        before = set((ckpt.parent / "latent").glob("*")) if (ckpt.parent / "latent").exists() else set()
        argv = [f"ckpt={ckpt}", "task=interpolate", "source=images", f"endpoints={endpoints}", *tiny]
        proc = run_either(False, "ganlab-latent", argv, run_dir, TIMEOUT_S)
        assert proc.returncode == 0, proc.stderr[-3000:]
        (out,) = set((ckpt.parent / "latent").glob("*")) - before
        result = json.loads((out / "result.json").read_text())
        assert result["endpoints"] == method and len(result["pairs"]) == 2


@pytest.fixture(scope="module")
def mnist_ae_run(mnist_classifier, tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("mnist_ae")
    proc = run_either(  # ganlab-train's main in this process
        False,
        "ganlab-train",
        [
            "experiment=mnist_kurtosis_ae",
            "trainer.max_epochs=1",
            "+trainer.limit_train_batches=20",
            *SMALL_METRICS_CALLBACK,
            "callbacks.latent_cdf.n_images=200",
            "trainer.enable_progress_bar=false",
        ],
        cwd,
        TIMEOUT_S,
        **mnist_classifier.env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (cwd / "outputs" / "train" / "mnist_kurtosis_ae").iterdir()
    return run_dir


def test_the_decoder_is_scored_like_a_gan_generator(mnist_ae_run, mnist_classifier):
    scores = json.loads((mnist_ae_run / "metrics.json").read_text())["image_metrics"]
    assert scores["iteration"] == 20 and scores["provenance"]["extractor"] == "classifier"
    for key in ("classifier_fid", "classifier_kid", "classifier_is", "modes", "mode_kl"):
        assert scores[key] is not None
    proc = run_either(  # ganlab-eval's main in this process
        False,
        "ganlab-eval",
        [
            f"ckpt={mnist_ae_run / 'checkpoints' / 'last.ckpt'}",
            "metrics=[fid,modes,probe]",
            "n_samples=400",
            "probe_train=500",
            "probe_test=300",
        ],
        mnist_ae_run,
        TIMEOUT_S,
        **mnist_classifier.env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result_file,) = (mnist_ae_run / "checkpoints" / "eval").glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["experiment"] == "mnist_kurtosis_ae" and result["classifier_fid"] > 0
    assert 0.1 < result["probe_accuracy"] <= 1.0  # a linear probe on the encoder's codes
    assert "probe accuracy" in proc.stdout and "classifier_fid" in proc.stdout
