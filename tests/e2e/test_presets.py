"""Every experiment preset end to end: it composes and fits one batch (``fast_dev_run``) with its real networks
on dataset files written here in the real formats; one smoke run on real MNIST; and the mistakes a preset
invites (a net that cannot draw the data's size, a conditional model on unlabelled data, BEGAN's model and loss
apart, an unknown net) through the ``ganlab-train`` console script."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from clirun import run_in_process
from datafiles import write_celeba_jpegs, write_cifar10, write_idx, write_mnist
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image
from realdata import link_mnist, needs_mnist
from test_train_build import TINY as TOY_TINY

from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build

ALL_PRESETS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
#: Presets that train a domain classifier (for the metrics), not a GAN.
CLASSIFIERS = [name for name in ALL_PRESETS if name.startswith("classifier_")]
PRESETS = [name for name in ALL_PRESETS if name not in CLASSIFIERS]
#: Presets with class-conditional nets, and their number of classes.
CONDITIONAL = {"mnist_cgan": 10, "cifar10_cgan": 10}
#: Autoencoder presets (callbacks=autoencoder: reconstructions and the latent CDF besides the sample grid).
AUTOENCODERS = {"digits_kurtosis_ae", "mnist_ae", "mnist_kurtosis_ae"}
IMAGE_BATCH = 4  # small (CelebA's 64×64 nets stay cheap) but a real batch for BatchNorm and minibatch layers
FAST = ["+trainer.fast_dev_run=true", "logger=none", "trainer.enable_progress_bar=false"]

TIMEOUT_S = 300


def test_presets_are_discovered():
    assert len(PRESETS) >= 16 and {"mnist_dcgan", "celeba_seed", "ring_unrolled", *CONDITIONAL} <= set(PRESETS)
    assert CLASSIFIERS == ["classifier_digits", "classifier_fashion_mnist", "classifier_mnist"]


# --------------------------------------------------------------------------- data written in the real formats
@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """MNIST IDX files, CIFAR-10 pickles and a CelebA JPEG folder (digits and the toys need no files)."""
    root = tmp_path_factory.mktemp("data")
    write_mnist(root, n=16)
    write_idx(root / "FashionMNIST" / "raw", n=16, seed=1)
    write_cifar10(root, per_batch=4)  # 20 training images
    write_celeba_jpegs(root / "img_align_celeba", n=8, seed=0)
    return root


# --------------------------------------------------------------------------- every preset, in process
@dataclass
class PresetRun:
    name: str
    cfg: DictConfig
    run_dir: Path
    datamodule: object
    module: object
    trainer: object

    @property
    def is_image(self) -> bool:
        return len(self.cfg.data.shape) == 3


def compose_preset(name: str, overrides: list[str]) -> DictConfig:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=[f"experiment={name}", *overrides])


def fit_preset(name: str, data_root: Path, run_dir: Path) -> PresetRun:
    paths = [f"paths.run_dir={run_dir}", f"paths.data_root={data_root}", f"paths.classifier_dir={run_dir}/classifiers"]
    full = compose_preset(name, paths)
    is_image = len(full.data.shape) == 3
    size = [f"data.batch_size={IMAGE_BATCH}"] if is_image else TOY_TINY
    # a preset that scores with the domain classifier (stacked_mnist_metz) fits here without it: the metric
    # callbacks are tested with a trained classifier in tests/e2e/test_eval.py
    no_metrics = ["callbacks.metrics=null"] if full.callbacks.get("metrics") is not None else []
    cfg = compose_preset(name, [*size, *FAST, *paths, *no_metrics])
    datamodule, module, trainer = build(cfg)
    trainer.fit(module, datamodule=datamodule)
    return PresetRun(name, cfg, run_dir, datamodule, module, trainer)


@pytest.fixture(scope="module")
def preset_run(data_root, tmp_path_factory):
    """``preset_run(name)``: the preset fitted once per module (conditional runs are kept for their own checks)."""
    kept: dict[str, PresetRun] = {}

    def get(name: str) -> PresetRun:
        if name in kept:
            return kept[name]
        run = fit_preset(name, data_root, tmp_path_factory.mktemp(name))
        if name in CONDITIONAL:
            kept[name] = run
        return run

    return get


def grid_size(n_images: int, nrow: int, height: int, width: int, padding: int = 2) -> tuple[int, int]:
    """(width, height) of torchvision's ``make_grid`` picture."""
    rows = math.ceil(n_images / nrow)
    return nrow * (width + padding) + padding, rows * (height + padding) + padding


@pytest.mark.parametrize("name", PRESETS)
def test_preset_fits_one_batch_and_writes_its_outputs(preset_run, name):
    run = preset_run(name)
    module, run_dir = run.module, run.run_dir
    assert run.trainer.state.finished and run.trainer.state.status == "finished"
    assert module.iteration == 1
    assert module.num_classes == CONDITIONAL.get(name), "update CONDITIONAL for a new conditional preset"
    if run.is_image:
        assert tuple(run.cfg.data.shape) == tuple(run.datamodule.sample_shape)
        assert run.datamodule.batch_size == IMAGE_BATCH and len(run.datamodule.dataset) >= IMAGE_BATCH
        kind = "grid"  # callbacks=images: SampleGridCallback
    else:
        kind = "modes"  # callbacks=toy2d: ModeCoverageCallback
    # the epoch-end picture (fast_dev_run's single epoch ends after its one batch) and the final one
    samples = sorted(p.name for p in (run_dir / "samples").iterdir())
    plot_every = (run.cfg.callbacks.get("mode_coverage") or {}).get("plot_every_n_epochs", 1)
    expected = [f"{kind}_epoch0000_iter0000001.png"] if plot_every == 1 else []  # the PacGAN presets: every 50
    expected.append(f"{kind}_final.png")
    is_autoencoder = str(run.cfg.model._target_).endswith("AutoEncoderModule")
    assert is_autoencoder == (name in AUTOENCODERS), "update AUTOENCODERS for a new autoencoder preset"
    if is_autoencoder:
        expected += ["latent_cdf.png", "recon_epoch0000_iter0000001.png", "recon_final.png"]
    assert samples == sorted(expected)
    for png in samples:
        with Image.open(run_dir / "samples" / png) as img:
            img.verify()
    if run.is_image and name not in CONDITIONAL:
        grid_cfg = run.cfg.callbacks.sample_grid
        _, height, width = run.datamodule.sample_shape
        with Image.open(run_dir / "samples" / "grid_final.png") as img:
            assert img.size == grid_size(grid_cfg.n_samples, grid_cfg.nrow, height, width)

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["iteration"] == 1
    if not run.is_image:
        coverage = metrics["mode_coverage"]
        assert coverage["n_modes"] == run.datamodule.mixture.n_modes
        assert coverage["n_samples"] == run.cfg.callbacks.mode_coverage.n_samples
    # fast_dev_run switches ModelCheckpoint off: write the checkpoint a run of the preset would write
    run.trainer.save_checkpoint(run_dir / "checkpoints" / "preset.ckpt")
    ckpt = torch.load(run_dir / "checkpoints" / "preset.ckpt", weights_only=True, map_location="cpu")
    assert ckpt["ganlab"]["iteration"] == 1
    assert ckpt["ganlab"]["config"]["name"] == name
    assert ckpt["ganlab"]["config"]["data"]["batch_size"] == run.datamodule.batch_size


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_preset_trains_and_exports_its_classifier(preset_run, name):
    from ganlab.metrics.extractors import ClassifierExtractor

    run = preset_run(name)
    assert run.trainer.state.finished and run.module.iteration == 1
    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["val/acc"] <= 1.0  # scored on the test split at the epoch end
    dataset = name.removeprefix("classifier_")
    extractor = ClassifierExtractor(run.run_dir / "classifiers" / f"{dataset}.pt")
    assert extractor.info["dataset"] == dataset and extractor.info["test_accuracy"] == pytest.approx(metrics["val/acc"])
    assert extractor.info["feature_scale"] > 0
    features, logits = extractor(torch.zeros(2, *run.datamodule.sample_shape))
    assert features.shape == (2, 128) and logits.shape == (2, 10)


@pytest.mark.parametrize("name", sorted(CONDITIONAL))
def test_conditional_preset_draws_one_grid_row_per_class(preset_run, name):
    run = preset_run(name)
    module, classes = run.module, CONDITIONAL[name]
    assert module.num_classes == classes
    assert module.generator.num_classes == module.discriminator.num_classes == classes
    assert run.datamodule.num_classes == classes

    # the sample grid: one row of nrow samples per class
    grid_cfg = run.cfg.callbacks.sample_grid
    _, height, width = run.datamodule.sample_shape
    with Image.open(run.run_dir / "samples" / "grid_final.png") as img:
        assert img.size == grid_size(classes * grid_cfg.nrow, grid_cfg.nrow, height, width)

    # the data's labels reach the nets, and both nets read them
    real, labels = module.split_batch(next(iter(run.datamodule.train_dataloader())))
    assert labels is not None and labels.shape == (real.shape[0],)
    assert set(labels.tolist()) <= set(range(classes))
    z = torch.randn(4, module.latent_dim, generator=torch.Generator().manual_seed(0))
    zeros, ones = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
    assert not torch.allclose(module.sample(z=z, labels=zeros), module.sample(z=z, labels=ones))
    module.discriminator.eval()  # no dropout: the same images score the same under the same label
    with torch.no_grad():
        assert torch.equal(module.discriminator(real, labels=zeros), module.discriminator(real, labels=zeros))
        assert not torch.allclose(module.discriminator(real, labels=zeros), module.discriminator(real, labels=ones))


# --------------------------------------------------------------------------- the console script
@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    outputs: Path  # GANLAB_OUTPUT_DIR of the call

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


def ganlab_train(args: list[str], cwd: Path, data_root: Path) -> Result:
    proc = run_in_process("ganlab-train", args, cwd, GANLAB_DATA_DIR=str(data_root))
    return Result(proc.returncode, proc.stdout, proc.stderr, cwd / "outputs")


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@needs_mnist
def test_real_mnist_smoke_run(tmp_path):
    raw = link_mnist(tmp_path / "data") / "MNIST" / "raw"  # links to the .gz files only: unpacked here
    result = ganlab_train(["experiment=mnist_dcgan", "model.max_iterations=3", "logger=none"], tmp_path, raw.parents[1])
    assert result.returncode == 0, result.describe()
    assert any(line.startswith("[ganlab] mnist_dcgan: iteration 3") for line in result.stdout.splitlines()), (
        result.describe()
    )
    assert (raw / "train-images-idx3-ubyte").stat().st_size == 16 + 60_000 * 28 * 28  # all of real MNIST, unpacked
    run_dirs = [p.parent for p in result.outputs.rglob(".hydra")]
    assert len(run_dirs) == 1 and run_dirs[0].parent == result.outputs / "train" / "mnist_dcgan", run_dirs
    run_dir = run_dirs[0]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["iteration"] == 3
    assert (run_dir / "samples" / "grid_final.png").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


def labelled_datasets(classes: int = 10) -> set[str]:
    """The data options whose data module yields labels of ``classes`` classes (constructing one touches no
    files)."""
    names = set()
    for option in sorted(p.stem for p in (CONF_DIR / "data").glob("*.yaml")):
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose("train", overrides=[f"data={option}", "paths.data_root=/nonexistent"])
        if getattr(instantiate(cfg.data), "num_classes", None) == classes:
            names.add(option)
    return names


def accepted(message: str) -> list[str]:
    """The comma-separated list after the message's last "accepted: "."""
    return message.rsplit("accepted: ", 1)[1].split(" (")[0].split(", ")


GENERATORS = sorted(p.stem for p in (CONF_DIR / "model" / "generator").glob("*.yaml"))


@dataclass(frozen=True)
class BadCase:
    argv: tuple[str, ...]
    must_say: tuple[str, ...]


BAD_CASES = {
    "conv-on-28": BadCase(
        ("experiment=mnist_dcgan", "model=gan_conv"),
        ("ConvGenerator", "28×28", "supported image sizes: 32, 64"),
    ),
    "m1-at-32": BadCase(
        ("experiment=mnist_seed", "data.image_size=32"),
        ("M1Generator", "[1, 32, 32]", "supported image sizes: 28"),
    ),
    "cgan-on-celeba": BadCase(
        ("experiment=cifar10_cgan", "data=celeba"),
        ("conditional model for 10 classes", "data=celeba", "no class labels", "accepted: "),
    ),
    "began-with-hinge": BadCase(
        ("experiment=mnist_began", "loss=hinge"),
        ("loss=hinge", "model=began", "accepted: loss=began"),
    ),
    "began-loss-on-dcgan": BadCase(
        ("experiment=mnist_dcgan", "loss=began"),
        ("loss=began", "accepted: model=began"),
    ),
    "multirun-with-one-bad-combination": BadCase(
        ("-m", "experiment=mnist_dcgan", "model=gan_dcgan,gan_conv"),
        ("ConvGenerator", "28×28", "supported image sizes: 32, 64"),
    ),
    "unknown-generator": BadCase(
        ("experiment=mnist_dcgan", "model/generator=nope"),
        ("model/generator=nope", "is not a known model/generator", "accepted: "),
    ),
}


@pytest.fixture(scope="module")
def bad_results(data_root, tmp_path_factory) -> dict[str, Result]:
    """Every bad case through the console script's ``main`` in this process (refused before any training: the
    real console script's contract is tested once in e2e/test_cli.py)."""
    base = tmp_path_factory.mktemp("bad")
    results = {}
    for key, case in BAD_CASES.items():
        args = [*case.argv, "logger=none", "trainer.enable_progress_bar=false"]
        proc = run_in_process("ganlab-train", args, base / key, GANLAB_DATA_DIR=str(data_root))
        results[key] = Result(proc.returncode, proc.stdout, proc.stderr, base / key / "outputs")
    return results


@pytest.mark.parametrize("key", list(BAD_CASES))
def test_bad_preset_combination_is_one_line_error(bad_results, key):
    case, result = BAD_CASES[key], bad_results[key]
    assert result.returncode == 2, result.describe()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ganlab-train: error: "), result.describe()
    for words in case.must_say:
        assert words in lines[0], f"{words!r} not in {lines[0]!r}"
    assert "[ganlab]" not in result.stdout, result.describe()
    # refused by the preflight, before Hydra creates anything: no run directory, no multirun directory
    assert not result.outputs.exists(), files_under(result.outputs)
    assert not (result.outputs.parent / "multirun").exists()


def test_conditional_model_error_lists_exactly_the_labelled_datasets(bad_results):
    line = bad_results["cgan-on-celeba"].stderr.strip()
    assert set(accepted(line)) == labelled_datasets(), line
    assert "celeba" not in accepted(line)


def test_unknown_generator_error_lists_every_generator(bad_results):
    line = bad_results["unknown-generator"].stderr.strip()
    assert accepted(line) == GENERATORS, line
