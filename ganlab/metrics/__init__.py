"""Evaluation metrics."""

from ganlab.metrics.modes import ModeCoverage, mode_coverage

__all__ = ["ModeCoverage", "mode_coverage"]
