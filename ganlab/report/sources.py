"""Where a job's numbers are read from: its validation metrics by iteration, ``{iterations done: {metric: value}}``
(``val/<metric>`` without the prefix), from one of

- ``csv``: the CSV logger's ``csv/**/metrics.csv`` (Lightning's step + 1 = iterations done);
- ``wandb``: the job's W&B offline runs (``wandb_offline.py``; a resumed offline training's later run wins at the
  iterations both hold);
- ``json``: ``metrics.json``, the final values only (one entry, at the run's last iteration).

``ganlab-report --source`` builds its table from the last values of one of them (``json`` by default),
``ganlab-report curves --source`` its curves.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ganlab.report import wandb_offline
from ganlab.report.metric_names import read_metrics

SOURCES = ("csv", "wandb", "json")
PREFIX = "val/"


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _by_iteration(rows, step_key: str) -> dict[int, dict[str, float]]:
    """Logged rows (dicts with Lightning's step under ``step_key``) as {step + 1: their finite ``val/*`` numbers};
    a later row wins at the same iteration (a resumed run after the one it resumed)."""
    history: dict[int, dict[str, float]] = {}
    for row in rows:
        step = _number(row.get(step_key))
        values = {k[len(PREFIX) :]: _number(v) for k, v in row.items() if k and k.startswith(PREFIX)}
        values = {k: v for k, v in values.items() if v is not None}
        if step is not None and values:
            history.setdefault(int(step) + 1, {}).update(values)
    return history


def from_csv(job_dir: Path) -> dict[int, dict[str, float]]:
    rows = []
    for path in sorted(Path(job_dir).glob("csv/**/metrics.csv")):
        with open(path, newline="") as handle:
            rows += list(csv.DictReader(handle))
    return _by_iteration(rows, "step")


def from_wandb(job_dir: Path) -> dict[int, dict[str, float]]:
    rows = [row for log in wandb_offline.offline_runs(job_dir) for row in wandb_offline.history(log)]
    return _by_iteration(rows, "trainer/global_step")


def from_json(job_dir: Path) -> dict[int, dict[str, float]]:
    path = Path(job_dir) / "metrics.json"
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    iteration = data.get("iteration") if isinstance(data, dict) else None
    if not isinstance(iteration, int):
        return {}
    values = {k: _number(v) for k, v in read_metrics(data).items()}
    return {iteration: {k: v for k, v in values.items() if v is not None}}


READERS = {"csv": from_csv, "wandb": from_wandb, "json": from_json}


def history(job_dir: Path, source: str) -> dict[int, dict[str, float]]:
    return READERS[source](job_dir)


def final(job_dir: Path, source: str) -> tuple[int | None, dict[str, float]]:
    """(the last iteration scored, each metric's last value) from ``source``."""
    found = history(job_dir, source)
    values: dict[str, float] = {}
    for iteration in sorted(found):
        values.update(found[iteration])
    return (max(found) if found else None), values
