"""Lightning callbacks: evaluation, plots, run summaries."""

from ganlab.callbacks.d_overfit import DiscriminatorOverfitCallback
from ganlab.callbacks.ddp_check import RankConsistencyCheck
from ganlab.callbacks.diagnostics import TrainingDiagnostics, plot_curves
from ganlab.callbacks.divergence import DivergenceGuard
from ganlab.callbacks.image_metrics import ImageMetricsCallback
from ganlab.callbacks.intra_fid import IntraFIDCallback
from ganlab.callbacks.latent_cdf import LatentCDFCallback
from ganlab.callbacks.metrics_json import write_metrics_json
from ganlab.callbacks.mode_coverage import ModeCoverageCallback
from ganlab.callbacks.reconstruction_error import ReconstructionErrorCallback
from ganlab.callbacks.reconstruction_grid import ReconstructionGridCallback
from ganlab.callbacks.run_checkpoint import RunCheckpoint
from ganlab.callbacks.run_summary import RunSummary
from ganlab.callbacks.sample_grid import SampleGridCallback
from ganlab.callbacks.wandb_run import WandbRunCallback

__all__ = [
    "DiscriminatorOverfitCallback",
    "DivergenceGuard",
    "ImageMetricsCallback",
    "IntraFIDCallback",
    "LatentCDFCallback",
    "ModeCoverageCallback",
    "RankConsistencyCheck",
    "ReconstructionErrorCallback",
    "ReconstructionGridCallback",
    "RunCheckpoint",
    "RunSummary",
    "SampleGridCallback",
    "TrainingDiagnostics",
    "WandbRunCallback",
    "plot_curves",
    "write_metrics_json",
]
