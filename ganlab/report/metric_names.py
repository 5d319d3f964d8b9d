"""The metrics a finished run reports (``metrics.json``), in the order ``ganlab-report`` shows them, and how they are
read from it; light to import (the preflight checks ``objective=`` against it)."""

METRIC_ORDER = (
    "classifier_fid", "fid", "classifier_kid", "kid", "classifier_is", "is",
    "classifier_precision", "precision", "classifier_recall", "recall",
    "classifier_density", "density", "classifier_coverage", "coverage", "modes", "hq", "mode_kl",
    "classifier_intra_fid", "intra_fid",
    "reconstruction_mse_train", "reconstruction_mse_test", "reconstruction_gap", "reconstruction_mse",
)  # fmt: skip
#: nested results in metrics.json (the metric callbacks' sections), then the flat val/* keys
METRIC_SOURCES = ("image_metrics", "mode_coverage", "intra_fid", "reconstruction")
NOT_METRICS = {"iteration", "epoch"}


def is_numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_metrics(data: dict) -> dict[str, float | None]:
    """Numbers (or null) of ``image_metrics`` / ``mode_coverage``, then the ``val/*`` keys not already there."""
    metrics: dict[str, float | None] = {}
    for source in METRIC_SOURCES:
        for key, value in (data.get(source) or {}).items():
            if key not in NOT_METRICS and (value is None or is_numeric(value)):
                metrics.setdefault(key, value)
    for key, value in data.items():
        if key.startswith("val/") and (value is None or is_numeric(value)):
            metrics.setdefault(key[len("val/") :], value)
    return metrics
