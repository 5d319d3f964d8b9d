"""``logger=csv``'s logger: Lightning's ``CSVLogger`` whose ``csv/metrics.csv`` keeps the run's whole history across
resumes. Lightning's writer deletes an existing ``metrics.csv`` when it starts, so a resumed run (a requeued Slurm
job, ``auto_resume`` after a crash, ``ckpt_path=…``) used to keep only the rows logged after the resume. Here the
rows the checkpoint's run logged up to the checkpoint's iteration (Lightning's step + 1 ≤ that iteration) are read
first — from the checkpoint's own run folder, this one or another — and written back before the resumed run appends
its own; rows logged after the checkpoint (the work a crash lost) are dropped, since the resumed run logs them
again. A run resumed any number of times thus has the rows of an uninterrupted one."""

from __future__ import annotations

import csv
from pathlib import Path

from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.logger import rank_zero_experiment


def earlier_rows(resume_ckpt: str | None, log_every_n_steps: int = 50) -> list[dict[str, str]]:
    """The CSV rows of the checkpoint's run up to its iteration (none for a fresh run or a foreign checkpoint). The
    checkpoint's own iteration's training row, which Lightning logs only after the checkpoint is written, comes from
    the checkpoint when the file lacks it (a crash before the next flush) and that iteration was a logging one."""
    if not resume_ckpt:
        return []
    from ganlab.composition.checkpoints import read_checkpoint

    state = read_checkpoint(resume_ckpt).get("ganlab") or {}
    iteration = state.get("iteration")
    source = Path(resume_ckpt).parent.parent / "csv" / "metrics.csv"
    if not isinstance(iteration, int):
        return []
    rows = []
    if source.is_file():
        with open(source, newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if _step(r) is not None and _step(r) < iteration]
    pending = state.get("last_logged") or {}
    values = pending.get("values") or {}
    logged = any(_step(r) == iteration - 1 and any(r.get(k) not in (None, "") for k in values) for r in rows)
    if pending.get("iteration") == iteration and values and iteration % log_every_n_steps == 0 and not logged:
        rows.append(
            {"epoch": str(pending["epoch"]), "step": str(iteration - 1), **{k: repr(v) for k, v in values.items()}}
        )
    return rows


def _step(row: dict) -> int | None:
    text = (row.get("step") or "").strip()
    return int(text) if text.lstrip("-").isdigit() else None


class CSVHistoryLogger(CSVLogger):
    def __init__(self, *args, resume_ckpt: str | None = None, log_every_n_steps: int = 50, **kwargs):
        super().__init__(*args, **kwargs)
        self._resume_ckpt, self._log_every = resume_ckpt, log_every_n_steps

    @property
    @rank_zero_experiment
    def experiment(self):
        if self._experiment is not None:
            return self._experiment
        rows = earlier_rows(self._resume_ckpt, self._log_every)  # read before Lightning's writer deletes the file
        writer = super().experiment
        if rows:
            keys = sorted({key for row in rows for key in row})
            with open(writer.metrics_file_path, "w", newline="") as handle:
                out = csv.DictWriter(handle, fieldnames=keys)
                out.writeheader()
                out.writerows(rows)
            writer.metrics_keys = keys
        return writer
