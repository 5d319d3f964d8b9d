"""Leaves: the package's vocabulary (errors, named choices) and process facts (Slurm, the run-folder lock, the run's
log lines). Standard library only; every other layer may import these, these import nothing from ganlab."""
