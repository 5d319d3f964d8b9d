"""Session fixtures shared by the metric tests: real MNIST linked into a temporary root, and a domain classifier
trained on it by the real console script (``ganlab-train experiment=classifier_mnist``, one short epoch) once for all
xdist workers (``built_once``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from clirun import run_ganlab_train
from realdata import HAVE_MNIST, link_mnist

import ganlab.composition.build  # noqa: F401  (registers the schemas conf/ composes with, whatever test runs first)

# One torch thread per test process: `make test` runs two xdist workers on two cores, and a second OpenMP thread in
# each only oversubscribes them (the CLI subprocesses and notebook kernels get OMP_NUM_THREADS=1 likewise).
torch.set_num_threads(1)

CLASSIFIER_BATCHES = 150  # × 128 images: ≈ 97–98 % test accuracy in about a minute on 2 cores


@dataclass
class TrainedClassifier:
    data_root: Path
    classifier_dir: Path
    path: Path
    metrics: dict
    stdout: str

    def env(self) -> dict[str, str]:
        """The environment of a CLI run that reads this MNIST root and classifier."""
        return {"GANLAB_DATA_DIR": str(self.data_root), "GANLAB_CLASSIFIER_DIR": str(self.classifier_dir)}


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    if not HAVE_MNIST:
        pytest.skip("real MNIST .gz files not in ../shared/data")
    return link_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory, worker_id):
    """A folder shared by every xdist worker of this pytest session (this process's temp root without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id != "master" else base


def built_once(shared: Path, name: str, build) -> Path:
    """``shared / name`` after ``build(folder)`` ran exactly once in this session, whichever worker asked first (the
    others wait on a file lock); a failed build is retried by the next worker that asks."""
    from filelock import FileLock

    folder = shared / name
    with FileLock(str(shared / f"{name}.lock")):
        if not (folder / ".built").exists():
            if folder.exists():
                import shutil

                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def mnist_classifier(mnist_root, shared_dir) -> TrainedClassifier:
    """Trained once per session, by the first worker that needs it."""

    def train(cwd: Path) -> None:
        proc = run_ganlab_train(
            [
                "experiment=classifier_mnist",
                "trainer.max_epochs=1",
                f"+trainer.limit_train_batches={CLASSIFIER_BATCHES}",
                "trainer.enable_progress_bar=false",
                "logger=none",
            ],
            cwd,
            timeout=600,
            GANLAB_DATA_DIR=str(mnist_root),
            GANLAB_CLASSIFIER_DIR=str(cwd / "classifiers"),
            OMP_NUM_THREADS="2",
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        (cwd / "stdout.txt").write_text(proc.stdout)

    cwd = built_once(shared_dir, "mnist_classifier", train)
    classifier_dir = cwd / "classifiers"
    (run_dir,) = (cwd / "outputs" / "train" / "classifier_mnist").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    stdout = (cwd / "stdout.txt").read_text()
    return TrainedClassifier(mnist_root, classifier_dir, classifier_dir / "mnist.pt", metrics, stdout)
