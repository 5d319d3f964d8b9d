"""``ganlab-eval`` end to end on checkpoints written by real ``ganlab-train`` runs (real MNIST, tiny sizes): a
DCGAN trained with the classifier-metric and reconstruction-error callbacks, a conditional GAN with the intra-FID
callback, a ring GAN and the classifier itself; and its bad inputs. The callbacks and ``ganlab-eval`` share seeds,
so the same checkpoint gets the same numbers from both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from clirun import SMALL_METRICS_CALLBACK, run_either
from PIL import Image

TIMEOUT_S = 300
SMALL = ["n_samples=400", "kid_subsets=10", "kid_subset_size=100"]
SMALL_RECONSTRUCTION = ["n_images=16", "restarts=2", "iterations=20"]  # as ganlab-eval's recon_* settings below


def five_step_run(cwd: Path, experiment: str, extra: list[str], clf, real: bool = False):
    """(run dir, process) of ``ganlab-train experiment=<experiment>``: one epoch of 5 batches of 32, CSV logs; its
    ``main`` in this process, or the real console script (``real``)."""
    args = [f"experiment={experiment}", "trainer.max_epochs=1", "+trainer.limit_train_batches=5", "data.batch_size=32"]
    args += [*extra, "logger=csv", "trainer.enable_progress_bar=false"]
    proc = run_either(real, "ganlab-train", args, cwd, TIMEOUT_S, **clf.env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (cwd / "outputs" / "train" / experiment).iterdir()
    return run_dir, proc


@pytest.fixture(scope="module")
def dcgan_run(mnist_classifier, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("dcgan")
    reconstruction = [f"callbacks.reconstruction.{s}" for s in SMALL_RECONSTRUCTION]
    extra = [*SMALL_METRICS_CALLBACK, "+callbacks/reconstruction=default", *reconstruction]
    extra.append("callbacks.reconstruction.seed=2024")  # ganlab-eval's seed
    run_dir, proc = five_step_run(cwd, "mnist_dcgan", extra, mnist_classifier)
    return cwd, run_dir, proc


@pytest.fixture(scope="module")
def cgan_run(mnist_classifier, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cgan")
    intra = [f"callbacks.intra_fid.{s}" for s in ("n_per_class=40", "n_real=400", "every_n_epochs=1")]
    extra = ["+callbacks/intra_fid=classifier", *intra]
    run_dir, _ = five_step_run(cwd, "mnist_cgan", extra, mnist_classifier)
    return cwd, run_dir


def ganlab_eval(args, cwd, clf, real: bool = False):
    """``ganlab-eval``: the real console script (``real``), or its ``main`` in this process (same argv, environment
    and working directory, without ~7 s of start-up)."""
    return run_either(real, "ganlab-eval", args, cwd, TIMEOUT_S, **clf.env())


def test_training_callback_logs_labelled_scores(dcgan_run):
    _, run_dir, proc = dcgan_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    scores = metrics["image_metrics"]
    for key in ("classifier_fid", "classifier_kid", "classifier_is", "modes", "mode_kl", "classifier_precision"):
        assert scores[key] is not None and metrics[f"val/{key}"] == pytest.approx(scores[key], rel=1e-5)
    assert "val/fid" not in metrics  # classifier scores never pass for Inception ones
    prov = scores["provenance"]
    assert prov["extractor"] == "classifier" and prov["n_fake"] == prov["n_real"] == 400
    assert prov["classifier_dataset"] == "mnist" and scores["iteration"] == 5
    assert f"classifier_fid {scores['classifier_fid']:.3g}" in proc.stdout
    # the metric objects live in the callback: the checkpoint holds no metric state and no extractor weights
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert all(k.startswith(("generator.", "discriminator.")) for k in ckpt["state_dict"])
    assert all("ImageMetrics" not in str(k) for k in ckpt.get("callbacks", {}))
    csv_text = (run_dir / "csv" / "metrics.csv").read_text()
    assert "val/classifier_fid" in csv_text


def test_eval_writes_json_and_grid_and_never_overwrites(dcgan_run, mnist_classifier):
    cwd, run_dir, _ = dcgan_run
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    args = [f"ckpt={ckpt}", "metrics=[fid,kid,is,modes,prdc,probe,reconstruction,d_overfit]", "d_images=64"]
    args += ["probe_train=500", "probe_test=300"]
    args += ["recon_images=16", "recon_restarts=2", "recon_iterations=20", *SMALL]
    first = ganlab_eval(args, cwd, mnist_classifier, real=True)
    assert first.returncode == 0, first.stderr[-3000:]
    second = ganlab_eval(args, cwd, mnist_classifier)
    assert second.returncode == 0, second.stderr[-3000:]
    files = sorted((run_dir / "checkpoints" / "eval").glob("*.json"))
    assert len(files) == 2
    a, b = (json.loads(f.read_text()) for f in files)
    assert a["classifier_fid"] == b["classifier_fid"]  # seeded latents: the same score
    training = json.loads((run_dir / "metrics.json").read_text())["image_metrics"]
    assert a["classifier_fid"] == pytest.approx(training["classifier_fid"], rel=1e-5)  # same latents as the callback
    assert a["experiment"] == "mnist_dcgan" and a["iteration"] == 5
    assert 0.1 < a["probe_accuracy"] <= 1.0 and a["probe"]["n_train"] == 500
    for key in ("classifier_precision", "classifier_recall", "classifier_coverage"):
        assert 0.0 <= a[key] <= 1.0 and a[key] == pytest.approx(training[key], rel=1e-9)
    assert a["classifier_density"] >= 0.0 and a["evaluated_with"] == "generator"
    assert 0.0 < a["reconstruction_mse_train"] < 4.0 and 0.0 < a["reconstruction_mse_test"] < 4.0
    assert a["reconstruction_gap"] == pytest.approx(a["reconstruction_mse_test"] - a["reconstruction_mse_train"])
    assert -1.0 <= a["d_sign_train"] <= 1.0 and -1.0 <= a["d_sign_test"] <= 1.0
    assert a["d_logit_gap"] == pytest.approx(a["d_logit_train"] - a["d_logit_test"])
    assert a["settings"]["n_samples"] == 400 and a["provenance"]["extractor"] == "classifier"
    with Image.open(a["grid"]) as img:
        assert img.size == (8 * 30 + 2, 8 * 30 + 2)
    assert "classifier_fid" in first.stdout and str(files[0].name) in first.stdout + second.stdout
    # the reconstruction-error callback: the same images, restarts and seed as ganlab-eval, so the same numbers
    recorded = json.loads((run_dir / "metrics.json").read_text())
    during = recorded["reconstruction"]
    assert during["iteration"] == 5 and during["evaluated_with"] == "generator"
    for key in ("reconstruction_mse_train", "reconstruction_mse_test", "reconstruction_gap"):
        assert during[key] == pytest.approx(a[key], rel=1e-5, abs=1e-7), key
        assert recorded[f"val/{key}"] == pytest.approx(during[key], rel=1e-5)
    assert "val/reconstruction_gap" in (run_dir / "csv" / "metrics.csv").read_text()


def test_intra_fid_in_training_and_in_ganlab_eval_on_a_conditional_checkpoint(cgan_run, mnist_classifier):
    cwd, run_dir = cgan_run
    during = json.loads((run_dir / "metrics.json").read_text())["intra_fid"]
    assert during["iteration"] == 5 and during["evaluated_with"] == "generator" and during["split"] == "test"
    per_class = during["classifier_intra_fid_per_class"]
    assert len(per_class) == 10 and all(v > 0 for v in per_class)
    assert during["classifier_intra_fid"] == pytest.approx(sum(per_class) / 10)
    assert sum(during["classifier_intra_fid_n_real"]) == 400
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    args = [f"ckpt={ckpt}", "metrics=[intra_fid,fid]", "n_samples=400", "n_real=400", "kid_subset_size=100"]
    proc = ganlab_eval(args, cwd, mnist_classifier)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (out,) = (ckpt.parent / "eval").glob("*.json")
    scored = json.loads(out.read_text())
    assert scored["classifier_intra_fid"] == pytest.approx(during["classifier_intra_fid"], rel=1e-5)
    assert scored["classifier_intra_fid_per_class"] == pytest.approx(per_class, rel=1e-5)
    # an untrained-for-5-steps conditional G: each class's samples are farther from that class than all samples
    # are from all reals
    assert scored["classifier_intra_fid"] > scored["classifier_fid"]
    refused = ganlab_eval([f"ckpt={ckpt}", "metrics=[reconstruction]"], cwd, mnist_classifier)
    assert refused.returncode == 2 and "inverts z only" in refused.stderr


def test_eval_on_ring_and_classifier_checkpoints(tmp_path, mnist_classifier):
    args = ["experiment=ring_gan", "model.max_iterations=20", "data.iterations_per_epoch=10", "logger=none"]
    proc = run_either(False, "ganlab-train", args, tmp_path, TIMEOUT_S)  # main in this process
    assert proc.returncode == 0, proc.stderr[-3000:]
    (ckpt,) = (tmp_path / "outputs").rglob("last.ckpt")
    ring = ganlab_eval([f"ckpt={ckpt}", "metrics=[modes]", "n_samples=500"], tmp_path, mnist_classifier)
    assert ring.returncode == 0, ring.stderr[-3000:]
    (out,) = (ckpt.parent / "eval").glob("*.json")
    coverage = json.loads(out.read_text())["mode_coverage"]
    assert coverage["n_modes"] == 8 and coverage["n_samples"] == 500
    refused = ganlab_eval([f"ckpt={ckpt}", "metrics=[fid]"], tmp_path, mnist_classifier)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "ganlab-eval: error: metrics=fid needs image data; data=ring is a 2-D mixture; accepted: metrics=[modes]"
    ]

    (clf_ckpt,) = (mnist_classifier.classifier_dir.parent / "outputs").rglob("last.ckpt")
    acc = ganlab_eval([f"ckpt={clf_ckpt}"], tmp_path, mnist_classifier)
    assert acc.returncode == 0, acc.stderr[-3000:]
    (out,) = (clf_ckpt.parent / "eval").glob("*.json")
    assert json.loads(out.read_text())["test_accuracy"] == pytest.approx(mnist_classifier.metrics["val/acc"], abs=1e-6)


def test_eval_bad_inputs_are_one_line(tmp_path, dcgan_run, mnist_classifier):
    _, run_dir, _ = dcgan_run
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a checkpoint")
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    cases = {
        "ckpt=/nope.ckpt": "ckpt=/nope.ckpt does not exist",
        f"ckpt={corrupt}": f"ckpt={corrupt} is not a readable checkpoint",
        f"ckpt={ckpt} metrics=[fud]": "metrics=['fud'] is invalid; accepted: a non-empty list of fid, kid, is",
        f"ckpt={ckpt} extractor=inception": "Inception weights missing: put weights-inception-2015-12-05-6726825d.pth",
        "metrics=[fid]": "ckpt is missing",
    }
    before = sorted(Path(run_dir).rglob("*"))
    for i, (args, expected) in enumerate(cases.items()):
        real = i == 0  # the real console script once; the others call its main in this process
        proc = run_either(real, "ganlab-eval", args.split(), tmp_path, TIMEOUT_S, **mnist_classifier.env())
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], (args, proc.stderr[-2000:])
    assert sorted(Path(run_dir).rglob("*")) == before  # nothing written, nothing replaced
