"""What a job returns to a search sweeper (``objective=…``, e.g. ``hydra/sweeper=ring_search``): a metric of the run's
``metrics.json`` as ``ganlab-report`` reads it (``classifier_fid``, ``hq``, ``modes``, …), or ``modes_then_hq`` —
modes captured first, % high-quality samples breaking ties (``modes + hq / 100``: one more mode outweighs any HQ
difference, since HQ ≤ 100 %). A list of names returns one value per name (Optuna's multi-objective: one
``direction`` each). A job that failed, or a metric the run did not produce, returns NaN: Optuna records a failed
trial and the search goes on."""

from __future__ import annotations

import math

from ganlab.report.metric_names import METRIC_ORDER, is_numeric, read_metrics


def _modes_then_hq(metrics: dict) -> float:
    modes, hq = metrics.get("modes"), metrics.get("hq")
    return modes + hq / 100.0 if is_numeric(modes) and is_numeric(hq) else math.nan


DERIVED = {"modes_then_hq": _modes_then_hq}
#: The names ``objective`` accepts (checked before the run starts).
ACCEPTED = (*METRIC_ORDER, *DERIVED)


def names(objective) -> list[str]:
    """``objective`` (a name or a list of names) as a list."""
    if objective is None:
        return []
    return [str(objective)] if isinstance(objective, str) else [str(n) for n in objective]


def objective_value(objective, summary: dict | None):
    """The value(s) ``objective`` names in a run's ``metrics.json`` (``summary``; None: the job failed): a float for
    one name, a list for several, NaN where a value is missing."""
    metrics = read_metrics(summary or {})
    values = []
    for name in names(objective):
        value = DERIVED[name](metrics) if name in DERIVED else metrics.get(name)
        values.append(float(value) if is_numeric(value) else math.nan)
    return values[0] if len(values) == 1 else values
