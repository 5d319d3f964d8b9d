"""The notebooks in notebooks/ run top to bottom at the tiny size, in well under a minute each, and save their figures.

Each notebook is executed in a fresh ``python3`` kernel (nbclient) with ``GANLAB_NOTEBOOK_SIZE=tiny``; the kernel
inherits this process's environment, so figures (``GANLAB_NOTEBOOK_FIGURES``), run directories
(``GANLAB_NOTEBOOK_RUNS``) and any Hydra outputs (``GANLAB_OUTPUT_DIR`` / ``GANLAB_MULTIRUN_DIR``) land under the
test's temporary directory, which is also the kernel's working directory: nothing is written into the repository.
A cell that raises fails the test with the cell's traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MAX_SECONDS = 60  # per notebook at the tiny size, kernel start included (the budget on 2 CPU cores)
CELL_TIMEOUT = 120
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: The figures each notebook must save (at least these; all of them start with the notebook's number).
EXPECTED_FIGURES = {
    "01_game_dynamics": ["01_trajectories.png", "01_distance.png", "01_spectral_radius.png"],
    "02_optimal_discriminator": [
        "02_optimal_discriminator.png",
        "02_value_vs_shift.png",
        "02_jsd_vanishing_gradient.png",
    ],
    "03_saturation": ["03_loss_and_gradient.png", "03_frozen_generator.png"],
    "04_mode_collapse_unrolling": ["04_snapshots.png", "04_coverage.png"],
    "05_inversion_inpainting": [
        "05_samples.png",
        "05_inversion_curves.png",
        "05_reconstructions.png",
        "05_inpainting.png",
        "05_interpolation.png",
        "05_arithmetic.png",
        "05_truncation.png",
    ],
    "06_kurtosis_ae": [
        "06_latent_cdf.png",
        "06_latent_cdf_callback.png",
        "06_moments.png",
        "06_samples.png",
        "06_training_curves.png",
        "06_interpolation.png",
    ],
    "07_compare_runs": ["07_modes_vs_k.png", "07_hq_vs_k.png", "07_loss_by_k.png", "07_final_samples.png"],
}


def test_the_notebooks_are_the_seven_lessons():
    assert [p.stem for p in NOTEBOOKS] == sorted(EXPECTED_FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean(path):
    """Valid nbformat 4, a python3 kernel, no outputs or execution counts, a parameters cell first."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "python3"
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code_cells), f"{path.name} holds outputs"
    first = code_cells[0]
    assert "parameters" in first.metadata.get("tags", [])
    assert "GANLAB_NOTEBOOK_SIZE" in first.source and "GANLAB_NOTEBOOK_FIGURES" in first.source
    assert nb.cells[0].cell_type == "markdown"  # every notebook opens with the prose of what it demonstrates
    assert json.loads(path.read_text())["nbformat"] == 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_at_tiny_size(path, tmp_path, monkeypatch):
    figures = tmp_path / "figures"
    env = {
        "GANLAB_NOTEBOOK_SIZE": "tiny",
        "GANLAB_NOTEBOOK_FIGURES": str(figures),
        "GANLAB_NOTEBOOK_RUNS": str(tmp_path / "runs"),
        "GANLAB_OUTPUT_DIR": str(tmp_path / "outputs"),
        "GANLAB_MULTIRUN_DIR": str(tmp_path / "multirun"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "WANDB_MODE": "disabled",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the kernel is started with a copy of this process's environment
    monkeypatch.delenv("GANLAB_NOTEBOOK_SWEEP", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the traceback) at the first failing cell
    seconds = time.perf_counter() - start
    print(f"{path.stem}: {seconds:.1f} s")
    assert seconds < MAX_SECONDS, f"{path.name} took {seconds:.1f} s at the tiny size (budget {MAX_SECONDS} s)"

    for name in EXPECTED_FIGURES[path.stem]:
        png = figures / name
        assert png.is_file(), f"{path.name} did not save {name}; saved: {sorted(p.name for p in figures.iterdir())}"
        assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 1000, f"{name} is not a PNG"
    prefix = path.stem.split("_")[0] + "_"
    assert all(p.name.startswith(prefix) for p in figures.iterdir()), sorted(p.name for p in figures.iterdir())
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
