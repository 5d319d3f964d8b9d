"""Lightning callbacks: evaluation, plots, run summaries."""

from ganlab.callbacks.diagnostics import TrainingDiagnostics, plot_curves
from ganlab.callbacks.image_metrics import ImageMetricsCallback
from ganlab.callbacks.mode_coverage import ModeCoverageCallback
from ganlab.callbacks.run_summary import RunSummary, write_metrics_json
from ganlab.callbacks.sample_grid import SampleGridCallback

__all__ = [
    "ImageMetricsCallback",
    "ModeCoverageCallback",
    "RunSummary",
    "SampleGridCallback",
    "TrainingDiagnostics",
    "plot_curves",
    "write_metrics_json",
]
