"""Every entry point answers a bad value with one line naming it and what is accepted, exit code 2, no traceback,
and nothing written: a table of bad inputs across ``ganlab-train``, ``ganlab-eval``, ``ganlab-latent`` and
``ganlab-report`` (types, ranges, combinations, files). The entry points' ``main`` runs in this process
(``clirun.run_in_process``): the same argv, environment and working directory as the console scripts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from clirun import run_in_process
from PIL import Image

TRAIN_BASE = ["experiment=ring_gan", "logger=none", "trainer.enable_progress_bar=false"]
RING_CKPT, IMAGE_CKPT = "{ring}", "{image}"

#: (entry point, argv, words the one error line must contain). ``{ring}`` / ``{image}``: checkpoints of a tiny
#: ring / digits run; ``{files}``: a folder of bad files (see ``files``).
TRAIN = [
    (["optim.generator.lr=abc"], ["optim.generator.lr='abc'", "a number > 0"]),
    (["optim.generator.lr=-1"], ["optim.generator.lr=-1", "a number > 0"]),
    (["optim.discriminator.lr=0"], ["optim.discriminator.lr=0"]),
    (["optim.generator.betas=[2,0.9]"], ["optim.generator.betas=[2, 0.9]", "two numbers in [0, 1)"]),
    (["optim.generator.betas=[0.5]"], ["optim.generator.betas=[0.5]"]),
    (["+optim.generator.eps=0"], ["optim.generator.eps=0", "> 0"]),
    (["+optim.generator.weight_decay=-1"], ["optim.generator.weight_decay=-1", ">= 0"]),
    (["optim=sgd", "optim.generator.momentum=1.5"], ["momentum=1.5", "[0, 1)"]),
    (["optim.scheduler_g.end_factor=abc"], ["optim.scheduler_g", "accepted"]),
    (["seed=-1"], ["seed=-1", "2**32"]),
    (["seed=abc"], ["seed='abc'"]),
    (["seed=1.5"], ["seed=1.5"]),
    (["trainer.max_epochs=abc"], ["trainer.max_epochs='abc'"]),
    (["trainer.max_epochs=-5"], ["trainer.max_epochs=-5"]),
    (["trainer.max_steps=10"], ["trainer.max_steps=10", "model.max_iterations"]),
    (["trainer.log_every_n_steps=0"], ["trainer.log_every_n_steps=0"]),
    (["trainer.num_nodes=0"], ["trainer.num_nodes=0"]),
    (["collective_timeout_s=0"], ["collective_timeout_s=0", "seconds > 0, or null"]),
    (["callbacks.last_checkpoint.hang_seconds=-1"], ["callbacks.last_checkpoint.hang_seconds=-1", "> 0, or null"]),
    (["trainer.accelerator=tpu"], ["trainer.accelerator='tpu'", "cpu, gpu"]),
    (["model.unroll_steps=1000000000"], ["model.unroll_steps=1000000000", "[0, 100]"]),
    (["model.unroll_steps=-1"], ["model.unroll_steps=-1"]),
    (
        ["model.unroll_steps=2", "optim.discriminator._target_=torch.optim.Adagrad", "~optim.discriminator.betas"],
        ["torch.optim.Adagrad cannot be unrolled", "torch.optim.SGD"],
    ),
    (["model.d_steps=0"], ["model.d_steps=0", "[1, 100]"]),
    (["model.g_steps=101"], ["model.g_steps=101"]),
    (["model.latent_dim=0"], ["model.latent_dim=0"]),
    (["model.real_label=0"], ["model.real_label=0"]),
    (["model.real_label=1.5"], ["model.real_label=1.5", "(0, 1]"]),
    (["model.max_iterations=0"], ["model.max_iterations=0"]),
    (["model.max_iterations=abc"], ["model.max_iterations", "abc"]),
    (["model.scheduler_interval=sometimes"], ["model.scheduler_interval", "sometimes"]),
    (["model.grad_clip_g=-1"], ["model.grad_clip_g=-1"]),
    (["model.unroll_mode=third_order"], ["third_order", "first_order"]),
    (["model.unroll_surrogate=value"], ["model.unroll_surrogate", "value", "game", "own", "fake_only"]),
    (["model.update_rule=sometimes"], ["sometimes", "simultaneous"]),
    (["model.update_rule=simultaneous", "model.d_steps=2"], ["simultaneous", "d_steps=2"]),
    (["model.latent_prior=cauchy"], ["cauchy", "normal, uniform"]),
    # issue #19's techniques
    (["+model/ema=default", "model.ema.decay=1.5"], ["model.ema.decay=1.5", "(0, 1)"]),
    (["loss=wgan", "model.discriminator.spectral_norm=true"], ["spectral_norm=true", "weight clipping", "accepted"]),
    (["model.discriminator.spectral_norm=maybe"], ["spectral_norm", "maybe"]),
    (["+model/ema=default", "model.ema.decay=0"], ["model.ema.decay=0", "(0, 1)"]),
    (["+model/ema=default", "model.ema.start=-1"], ["model.ema.start=-1", ">= 0"]),
    (["+loss/penalty=r1", "loss.penalties.r1.every=0"], ["loss.penalties.r1.every=0", ">= 1"]),
    (["+loss/penalty=r1", "loss.penalties.r1.weight=-1"], ["loss.penalties.r1.weight=-1", ">= 0"]),
    (["+loss/penalty=lecam", "loss.penalties.lecam.decay=1"], ["loss.penalties.lecam.decay=1", "[0, 1)"]),
    (["+loss/penalty=bogus"], ["loss/penalty=bogus", "dragan, gp, lecam, r1, r2"]),
    (["+loss/augment=diffaug"], ["loss.augment=diffaug augments images", "data=ring holds 2-D points"]),
    (["experiment=grid_gan", "+loss/augment=ada"], ["loss.augment=ada", "data=grid holds 2-D points"]),
    (["+loss/penalty=bcr"], ["loss.penalties.bcr augments images", "data=ring", "no loss.penalties.bcr"]),
    (["+loss/augment=diffaug", "loss.augment.probability=1.5"], ["loss.augment.probability=1.5", "[0, 1]"]),
    (["+loss/augment=diffaug", "loss.augment.policy=flip"], ["policy='flip'", "color, translation, cutout"]),
    (["+loss/augment=diffaug", "loss.augment.policy=''"], ["loss.augment.policy=''", "non-empty"]),
    (["+loss/augment=ada", "loss.augment.target=1"], ["loss.augment.target=1", "(0, 1)"]),
    (["+loss/augment=ada", "loss.augment.pipeline=kornia"], ["loss.augment.pipeline='kornia'", "bgc, diffaugment"]),
    (["+loss/augment=ada", "loss.augment.interval=0"], ["loss.augment.interval=0", ">= 1"]),
    (["+loss/augment=ada", "loss.augment.speed_images=0"], ["loss.augment.speed_images=0", "> 0"]),
    (["+loss/penalty=bcr", "loss.penalties.bcr.policy=flip"], ["loss.penalties.bcr.policy='flip'", "cutout"]),
    (["+loss/augment=bogus"], ["loss/augment=bogus", "ada, ada_diffaugment, bgc, diffaug"]),
    (["experiment=digits_dcgan", "+loss/augment=bgc", "loss.augment.probability=2"], ["probability=2", "[0, 1]"]),
    (["experiment=digits_dcgan", "+data.train_size=10"], ["data.train_size=10", "data.batch_size=64", ">= 64"]),
    (["experiment=digits_dcgan", "+data.train_size=0"], ["data.train_size=0", "an integer >= 1"]),
    (["experiment=digits_dcgan", "+data.train_size=100", "+data.train_fraction=0.5"], ["one of the two"]),
    (["experiment=digits_dcgan", "+data.subset_seed=-1"], ["data.subset_seed=-1", "an integer >= 0"]),
    (["model/discriminator=bogus"], ["model/discriminator=bogus", "dcgan, dcgan_ln, dcgan_sn"]),
    (["+callbacks/reconstruction=default"], ["callbacks.reconstruction scores images", "data=ring", "shape [2]"]),
    (["experiment=mnist_dcgan", "+callbacks/intra_fid=classifier"], ["intra_fid needs a conditional", "mnist_dcgan"]),
    (["experiment=mnist_cgan", "+callbacks/reconstruction=default"], ["needs an unconditional", "num_classes=10"]),
    (
        ["experiment=mnist_cgan", "+callbacks/intra_fid=classifier", "callbacks.intra_fid.n_per_class=1"],
        ["callbacks.intra_fid: n_per_class=1", ">= 2"],
    ),
    (
        ["experiment=mnist_dcgan", "+callbacks/reconstruction=default", "callbacks.reconstruction.lr=0"],
        ["callbacks.reconstruction: lr=0", "> 0"],
    ),
    (["experiment=mnist_began", "+loss/augment=diffaug"], ["loss/augment=diffaug", "BEGANLossSchema", "no 'augment'"]),
    (["experiment=mnist_began", "+loss/penalty=bcr"], ["loss/penalty=bcr", "no 'penalties'", "accepted"]),
    (["experiment=mnist_kurtosis_ae", "+model/ema=default"], ["model/ema=default", "AutoEncoderModelSchema"]),
    (["model.discriminator.hidden=[0]"], ["model.discriminator.hidden=[0]", "integers >= 1"]),
    (["model.generator.hidden=[-4,2]"], ["model.generator.hidden=[-4, 2]"]),
    (["model.generator.init=bogus"], ["bogus", "dcgan"]),
    (["model.generator.init_gain=-1"], ["init_gain"]),
    (["model.nonexistent=3"], ["nonexistent"]),
    (["data.batch_size=0"], ["data.batch_size=0"]),
    (["data.batch_size=abc"], ["data.batch_size", "abc"]),
    (["data.iterations_per_epoch=0"], ["data.iterations_per_epoch=0"]),
    (["data.pool_size=0"], ["data.pool_size=0"]),
    (["data=bogus"], ["data=bogus", "accepted"]),
    (["loss=bogus"], ["loss=bogus", "hinge"]),
    (["model=bogus"], ["model=bogus", "accepted"]),
    (["experiment=bogus"], ["experiment=bogus", "ring_gan"]),
    (["--config-dir", "no/such/folder", "experiment=ring_gan"], ["--config-dir no/such/folder", "a folder"]),
    (["data.pool_size=-1"], ["data.pool_size=-1", "null"]),
    (["experiment=classifier_digits", "data.holdout=1"], ["data.holdout=1", "[0, 1)"]),
    (["loss=began"], ["began"]),
    (["callbacks.mode_coverage.n_samples=1"], ["callbacks.mode_coverage.n_samples=1", ">= 2"]),
    (["callbacks.last_checkpoint.every_n_minutes=-1"], ["every_n_minutes=-1", "> 0"]),
    (["callbacks.last_checkpoint.every_n_iterations=0"], ["every_n_iterations=0"]),
    (["callbacks.divergence.policy=maybe"], ["policy='maybe'", "stop, skip, warn"]),
    (["trainer.enable_progress_bar=sometimes"], ["enable_progress_bar='sometimes'", "true, false, auto"]),
    (["+trainer.profiler=bogus"], ["trainer.profiler='bogus'", "null (none), simple, advanced, pytorch"]),
    (["experiment=ring_pacgan", "model.discriminator.pack=2", "data.batch_size=101"], ["pack=2", "batch_size=101"]),
    (["ckpt_path={files}/nope.ckpt"], ["nope.ckpt", "does not exist"]),
    (["ckpt_path={files}/corrupt.ckpt"], ["corrupt.ckpt", "not a readable checkpoint"]),
    (["ckpt_path={files}"], ["is a folder"]),
    (["ckpt_path={files}/loop.ckpt"], ["loop.ckpt", "a link that resolves to nothing"]),
    (["ckpt_path={files}/zero.ckpt"], ["zero.ckpt", "an empty file (0 bytes)"]),
    (["model.unrol_steps=3"], ["unknown key 'unrol_steps'", "did you mean 'unroll_steps'?"]),
    (["+optim.generater.lr=0.1"], ["a new key 'generater' in optim", "did you mean 'generator'?", "++"]),
    (["name=" + "x" * 300], ["name=", "1 to 200 bytes"]),
    (["trainer.max_epochs=0"], ["trainer.max_epochs=0", "null, -1 or an integer >= 1"]),
    (["experiment=grid_gan", "ckpt_path=last"], ["ckpt_path=last", "grid_gan"]),
    (["experiment=digits_dcgan", f"ckpt_path={RING_CKPT}"], ["different architecture"]),
    (["optim.generator.lr=0.5", f"ckpt_path={RING_CKPT}"], ["other settings", "optim.generator.lr"]),
    (["trainer=gpu"], ["no CUDA GPU", "trainer=cpu"]),
]
EVAL = [
    (["metrics=[intra_fid]"], ["metrics=intra_fid needs a conditional generator"]),
    (["metrics=[reconstruction]", "recon_iterations=0"], ["recon_iterations=0", ">= 1"]),
    (["metrics=[d_overfit]", "d_images=0"], ["d_images=0", ">= 1"]),
    (["n_samples=0"], ["n_samples=0", ">= 2"]),
    (["n_samples=abc"], ["n_samples='abc'"]),
    (["n_real=1"], ["n_real=1"]),
    (["batch_size=0"], ["batch_size=0"]),
    (["seed=-1"], ["seed=-1"]),
    (["split=val"], ["split='val'", "train, test"]),
    (["extractor=vgg"], ["extractor='vgg'", "classifier, inception"]),
    (["metrics=[bogus]"], ["metrics=['bogus']", "fid"]),
    (["metrics=[]"], ["metrics=[]"]),
    (["kid_subsets=0"], ["kid_subsets=0"]),
    (["kid_subset_size=1"], ["kid_subset_size=1"]),
    (["n_samples=100", "kid_subset_size=500"], ["kid_subset_size=500", "n_samples=100"]),
    (["probe_train=1"], ["probe_train=1"]),
    (["grid=-1"], ["grid=-1"]),
    (["antialias=maybe"], ["antialias='maybe'"]),
    (["foo=1"], ["foo"]),
]
EVAL_FILES = [
    ([], ["ckpt is missing"]),
    (["ckpt={files}/nope.ckpt"], ["nope.ckpt", "does not exist"]),
    (["ckpt={files}/corrupt.ckpt"], ["not a readable checkpoint"]),
    (["ckpt={files}/foreign.ckpt"], ["foreign.ckpt", "no model weights"]),
    ([f"ckpt={RING_CKPT}", "metrics=[fid]"], ["metrics=fid", "2-D mixture", "metrics=[modes]"]),
]
LATENT = [
    (["task=bogus"], ["task='bogus'", "invert, inpaint"]),
    (["n_images=0"], ["n_images=0"]),
    (["restarts=0"], ["restarts=0"]),
    (["iterations=0"], ["iterations=0"]),
    (["iterations=abc"], ["iterations='abc'"]),
    (["iterations=10000000"], ["iterations=10000000", "100000"]),
    (["optimizer=lbfgs"], ["optimizer='lbfgs'", "adam, sgd"]),
    (["lr=-1"], ["lr=-1", "> 0"]),
    (["lr=0"], ["lr=0"]),
    (["momentum=1"], ["momentum=1"]),
    (["prior_weight=-1"], ["prior_weight=-1"]),
    (["masks=[bogus]"], ["masks=['bogus']", "pepper"]),
    (["masks=[]"], ["masks=[]"]),
    (["pepper_fraction=0"], ["pepper_fraction=0"]),
    (["pepper_fraction=1.5"], ["pepper_fraction=1.5"]),
    (["square_size=0"], ["square_size=0"]),
    (["source=web"], ["source='web'"]),
    (["endpoints=magic"], ["endpoints='magic'"]),
    (["pairs=0"], ["pairs=0"]),
    (["mode=cubic"], ["mode='cubic'", "linear, spherical"]),
    (["alphas=[]"], ["alphas=[]"]),
    (["alphas=[a]"], ["alphas=['a']"]),
    (["groups=[1,2]"], ["groups=[1, 2]", "[a, b, c]"]),
    (["group_size=0"], ["group_size=0"]),
    (["thresholds=[-1]"], ["thresholds=[-1]"]),
    (["thresholds=[]"], ["thresholds=[]"]),
    (["n_samples=1"], ["n_samples=1"]),
    (["seed=-1"], ["seed=-1"]),
    (["split=val"], ["split='val'"]),
    (["task=interpolate", "endpoints=encoder", "source=images"], ["endpoints=encoder", "no encoder"]),
]
LATENT_FILES = [
    ([], ["ckpt is missing"]),
    (["ckpt={files}/nope.ckpt"], ["does not exist"]),
    ([f"ckpt={RING_CKPT}"], ["not an image generator", "data=toy2d"]),
    ([f"ckpt={IMAGE_CKPT}", "task=inpaint", "mask_file={files}/notimage.png"], ["notimage.png", "not a readable"]),
    ([f"ckpt={IMAGE_CKPT}", "task=inpaint", "mask_file={files}/black.png"], ["black.png", "observes no pixel"]),
    ([f"ckpt={IMAGE_CKPT}", "task=inpaint", "mask_file={files}/small.png"], ["small.png", "(28, 28)"]),
    ([f"ckpt={IMAGE_CKPT}", "task=inpaint", "mask_file={files}/nope.png"], ["nope.png", "does not exist"]),
]
REPORT = [
    (["{files}/no_sweep"], ["no_sweep"]),
    (["{files}/corrupt.ckpt"], ["corrupt.ckpt"]),
    (["{files}/empty"], ["empty"]),
    (["{sweep}", "--x", "bogus.key"], ["--x", "bogus.key"]),
    (["{sweep}", "--hue", "bogus.key"], ["--hue", "bogus.key"]),
    (["{sweep}", "--metrics", "bogus"], ["--metrics", "bogus"]),
    (["{sweep}", "--sort", "bogus"], ["--sort", "bogus"]),
    (["{sweep}", "--nonsense"], ["--nonsense"]),
    ([], ["SWEEP_DIR"]),
]
CASES = (
    [("ganlab-train", [*TRAIN_BASE, *argv], words) for argv, words in TRAIN]
    + [("ganlab-eval", [f"ckpt={IMAGE_CKPT}", *argv], words) for argv, words in EVAL]
    + [("ganlab-eval", argv, words) for argv, words in EVAL_FILES]
    + [("ganlab-latent", [f"ckpt={IMAGE_CKPT}", *argv], words) for argv, words in LATENT]
    + [("ganlab-latent", argv, words) for argv, words in LATENT_FILES]
    + [("ganlab-report", argv, words) for argv, words in REPORT]
)


def test_the_table_has_at_least_80_bad_inputs():
    assert len(CASES) >= 80, len(CASES)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny ring and digits checkpoints, bad files, a sweep folder; the paths the table's placeholders name."""
    root = tmp_path_factory.mktemp("bad_inputs")
    tiny = ["model.max_iterations=2", "logger=none", "trainer.enable_progress_bar=false"]
    for name, args in (
        ("ring", ["experiment=ring_gan", "data.iterations_per_epoch=2", "callbacks.mode_coverage.n_samples=100"]),
        ("image", ["experiment=digits_dcgan", "data.batch_size=16", "callbacks.sample_grid.n_samples=4"]),
    ):
        result = run_in_process("ganlab-train", [*args, *tiny, f"hydra.run.dir={root / name}"], root)
        assert result.returncode == 0, result.stderr[-3000:]
    files = root / "files"
    files.mkdir()
    (files / "corrupt.ckpt").write_bytes(b"\x80\x02 not a zip archive" * 10)
    torch.save({"weights": torch.zeros(2)}, files / "foreign.ckpt")
    (files / "notimage.png").write_bytes(b"P\x00 not a png")
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(files / "black.png")
    Image.fromarray(np.full((5, 5), 255, dtype=np.uint8)).save(files / "small.png")
    (files / "empty").mkdir()
    (files / "zero.ckpt").write_bytes(b"")
    (files / "loop.ckpt").symlink_to(files / "loop.ckpt")
    sweep = root / "sweep"
    result = run_in_process(
        "ganlab-train",
        ["-m", "experiment=ring_gan", "seed=0,1", *tiny, "data.iterations_per_epoch=2"]
        + ["callbacks.mode_coverage.n_samples=100", f"hydra.sweep.dir={sweep}"],
        root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {
        "root": root,
        "ring": str(root / "ring" / "checkpoints" / "last.ckpt"),
        "image": str(root / "image" / "checkpoints" / "last.ckpt"),
        "files": str(files),
        "sweep": str(sweep),
    }


def snapshot(root: Path) -> dict[str, int]:
    return {str(p): p.lstat().st_mtime_ns for p in root.rglob("*")}  # lstat: a link loop is a case


@pytest.mark.parametrize(("script", "argv", "words"), CASES, ids=[f"{s}:{' '.join(a)}"[:160] for s, a, _ in CASES])
def test_a_bad_input_is_one_line_exit_2_and_writes_nothing(world, script, argv, words):
    if argv == [*TRAIN_BASE, "trainer=gpu"] and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    argv = [a.format(**world) for a in argv]
    before = snapshot(world["root"])
    result = run_in_process(script, argv, world["root"])
    code, err = result.returncode, result.stderr
    assert code == 2, err[-3000:]
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(f"{script}: error:")]
    assert len(lines) == 1, err[-3000:]
    missing = [w.format(**world) for w in words if w.format(**world) not in lines[0]]
    assert not missing, f"{missing} not in: {lines[0]}"
    assert snapshot(world["root"]) == before  # nothing new, nothing touched


@pytest.mark.parametrize("script", ["ganlab-eval", "ganlab-latent"])
def test_help_prints_usage_and_the_settings(tmp_path, script):
    result = run_in_process(script, ["--help"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: {script} key=value") and "ckpt:" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_report_help(tmp_path):
    result = run_in_process("ganlab-report", ["--help"], tmp_path)
    assert result.returncode == 0 and "ganlab-report curves SWEEP_DIR" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_probe_never_tests_on_its_training_images():
    from ganlab.data import DigitsDataModule
    from ganlab.metrics.probe import probe_loaders

    train, test, how = probe_loaders(DigitsDataModule(), 10_000, 10_000, 256, seed=0)
    train_ids, test_ids = set(train.dataset.indices), set(test.dataset.indices)
    assert not train_ids & test_ids and len(train_ids) == 898 and len(test_ids) == 899
    assert "disjoint" in how


def test_a_read_only_run_folder_is_one_line_before_anything_is_written(world, tmp_path, monkeypatch):
    import os

    real = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == locked else real(p, mode, **kw))
    result = run_in_process("ganlab-train", [*TRAIN_BASE, f"hydra.run.dir={locked / 'run'}"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert "cannot be written" in line and str(locked) in line and "GANLAB_OUTPUT_DIR" in line
    assert list(locked.iterdir()) == []
