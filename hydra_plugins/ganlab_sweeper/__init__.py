"""ganlab's Hydra sweeper (``hydra/sweeper=ganlab``, ganlab-train's default): Hydra's basic sweeper that finishes a
sweep instead of redoing it (``ganlab_sweeper.py``). Hydra finds plugins in the ``hydra_plugins`` namespace."""
