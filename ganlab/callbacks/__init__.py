"""Lightning callbacks: evaluation, plots, run summaries."""

from ganlab.callbacks.mode_coverage import ModeCoverageCallback
from ganlab.callbacks.run_summary import RunSummary, write_metrics_json

__all__ = ["ModeCoverageCallback", "RunSummary", "write_metrics_json"]
