"""The notebooks in notebooks/ run top to bottom at the tiny size, in well under a minute each, and save their figures.

The eight notebooks run one after the other in one ``python3`` kernel (nbclient), started once for this module:
each kernel start imports torch and Lightning again (about 10 s of CPU), which was half of each notebook's test.
Before each notebook a first cell empties the kernel's namespace (``%reset -f``: a name a notebook uses without
defining it fails as in a fresh kernel), closes the figures, moves the kernel into the test's temporary directory and
sets ``GANLAB_NOTEBOOK_SIZE=tiny`` and the folders for figures (``GANLAB_NOTEBOOK_FIGURES``), run directories
(``GANLAB_NOTEBOOK_RUNS``) and Hydra outputs (``GANLAB_OUTPUT_DIR`` / ``GANLAB_MULTIRUN_DIR``) there, so nothing is
written into the repository. What a namespace reset cannot undo (modules already imported) is what ``make notebooks``
covers: it runs every notebook at full size in a fresh kernel of its own. A cell that raises fails the test with the
cell's traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.util import run_sync

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MAX_SECONDS = 60  # per notebook at the tiny size, the shared kernel's start included (the budget on 2 CPU cores)
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
    "08_library_api": ["08_samples.png", "08_hq_curves.png"],
}


def test_the_notebooks_are_the_eight_lessons():
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


@pytest.fixture(scope="module")
def kernel():
    """One python3 kernel for every notebook of this module (started by the first notebook's client)."""
    km = NotebookClient(nbformat.v4.new_notebook(), kernel_name="python3").create_kernel_manager()
    yield km
    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)


def fresh_start(folder: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    """The cell run before each notebook: an empty namespace, no open figure, ``folder`` as the working directory and
    the notebook's environment (subprocesses a notebook starts inherit it)."""
    return nbformat.v4.new_code_cell(
        "%reset -f\n"
        "import os as _os\n"
        "import matplotlib.pyplot as _plt\n"
        "_plt.close('all')\n"
        f"_os.chdir({str(folder)!r})\n"
        f"_os.environ.update({env!r})\n"
        "_os.environ.pop('GANLAB_NOTEBOOK_SWEEP', None)\n"
        "del _os, _plt"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_at_tiny_size(path, tmp_path, kernel):
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
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, fresh_start(tmp_path, env))
    client = NotebookClient(
        nb, km=kernel, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    start = time.perf_counter()
    try:
        client.execute()  # raises CellExecutionError (with the traceback) at the first failing cell
    finally:
        if client.kc is not None:
            client.kc.stop_channels()  # this client's channels; the kernel stays for the next notebook
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
