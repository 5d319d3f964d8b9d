"""The metrics a finished run reports (``metrics.json``), in the order ``ganlab-report`` shows them; light to import
(the preflight checks ``objective=`` against it)."""

METRIC_ORDER = (
    "classifier_fid", "fid", "classifier_kid", "kid", "classifier_is", "is",
    "classifier_precision", "precision", "classifier_recall", "recall",
    "classifier_density", "density", "classifier_coverage", "coverage", "modes", "hq", "mode_kl",
    "classifier_intra_fid", "intra_fid",
    "reconstruction_mse_train", "reconstruction_mse_test", "reconstruction_gap", "reconstruction_mse",
)  # fmt: skip
