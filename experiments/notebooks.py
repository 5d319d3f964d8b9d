"""Execute the teaching notebooks headless and keep executed copies with their outputs (``make notebooks``).

    python -m experiments.notebooks                       # every notebook at full size
    python -m experiments.notebooks 04 07 --size tiny     # some of them (by number or name), at the test size

Figures go to ``notebooks/figures/`` and executed copies to ``notebooks/executed/`` (both git-ignored); the stored
notebooks stay clean. Each notebook's last code cell prints its key numbers; they are echoed here with the
notebook's wall time, so a full run reads as a result table. A failing cell stops the run with exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
SIZES = ("full", "tiny")


def select(names: list[str]) -> list[Path]:
    """The notebooks named by number prefix or stem (all when ``names`` is empty), in order."""
    notebooks = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if not names:
        return notebooks
    chosen = []
    for name in names:
        matches = [p for p in notebooks if p.stem == name or p.stem.split("_")[0] == name]
        if not matches:
            accepted = ", ".join(p.stem for p in notebooks)
            raise SystemExit(f"error: no notebook {name!r}; accepted: {accepted} (or their numbers)")
        chosen += matches
    return chosen


def last_printed(nb: nbformat.NotebookNode) -> str:
    """The stdout of the last code cell that printed anything (each notebook's closing summary)."""
    for cell in reversed(nb.cells):
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
        if text.strip():
            return text.rstrip()
    return ""


def execute(path: Path, size: str, figures: Path, executed: Path, cell_timeout: int) -> float:
    """Run one notebook in a fresh python3 kernel from notebooks/, save the executed copy; its wall time."""
    os.environ["GANLAB_NOTEBOOK_SIZE"] = size  # the kernel inherits this process's environment
    os.environ["GANLAB_NOTEBOOK_FIGURES"] = str(figures)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=cell_timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        executed.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed / path.name)  # kept on failure too: the error is in the copy
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="numbers or names (default: all)")
    parser.add_argument("--size", default="full", help=f"one of {', '.join(SIZES)} (default full)")
    parser.add_argument("--figures", type=Path, default=NOTEBOOK_DIR / "figures")
    parser.add_argument("--executed", type=Path, default=NOTEBOOK_DIR / "executed")
    parser.add_argument("--cell-timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.size not in SIZES:
        print(f"error: --size {args.size!r} is not one of {', '.join(SIZES)}", file=sys.stderr)
        return 2
    for path in select(args.notebooks):
        print(f"== {path.stem} ({args.size})", flush=True)
        try:
            seconds = execute(path, args.size, args.figures.resolve(), args.executed.resolve(), args.cell_timeout)
        except CellExecutionError as error:
            print(f"error: {path.name} failed; see {args.executed / path.name}\n{error}", file=sys.stderr)
            return 1
        print(last_printed(nbformat.read(args.executed / path.name, as_version=4)))
        print(f"-- {path.stem}: {seconds:.0f} s\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
