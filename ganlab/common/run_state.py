"""Leaf: where a run folder stands, read from its files only (standard library): what the sweep resume skips or
reruns, and what ``ganlab-report`` lists.

- ``finished``: ``metrics.json`` records the end of training (``iteration`` ≥ ``model.max_iterations``; without a
  limit, a fit that ended) and no interruption (``preempted``: a signal during training or the final evaluation,
  removed when the run completes), and there is no ``failed.json``;
- ``failed``: the job wrote ``failed.json`` (a bad setting, a diverged run, an error);
- ``interrupted``: a checkpoint or some output but no finished ``metrics.json`` (killed, preempted, still running);
- ``new``: no folder, or a folder with nothing of a run in it.
"""

from __future__ import annotations

import json
from pathlib import Path

FINISHED, FAILED, INTERRUPTED, NEW = "finished", "failed", "interrupted", "new"
STATES = (FINISHED, INTERRUPTED, FAILED, NEW)


def read_json(path: Path) -> dict | None:
    """A JSON object from ``path``; None when missing, unreadable or not an object (a file cut by a crash)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def run_state(run_dir, max_iterations: int | None) -> str:
    """``finished`` / ``failed`` / ``interrupted`` / ``new`` (see the module's text) of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return NEW
    if (run_dir / "failed.json").is_file():
        return FAILED
    metrics = read_json(run_dir / "metrics.json") or {}
    iteration = metrics.get("iteration")
    counted = isinstance(iteration, int) and not isinstance(iteration, bool) and not metrics.get("preempted")
    if counted and (max_iterations is None or iteration >= max_iterations):
        return FINISHED
    traces = ("checkpoints", "metrics.json", "train.log")
    return INTERRUPTED if any((run_dir / name).exists() for name in traces) else NEW
