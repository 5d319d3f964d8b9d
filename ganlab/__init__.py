"""ganlab: GANs and a kurtosis-regularised autoencoder on PyTorch Lightning + Hydra.

The public Python API (the package root is its façade: it may reach every layer, and no ganlab module imports it):

- ``ganlab.load(path)``: the trained module of a ``ganlab-train`` checkpoint, in eval mode — ``.generator``,
  ``.sample(n)`` (G's EMA where the run kept one: ``.eval_generator``), ``.run_config`` (the run's settings);
- ``ganlab.CONF_DIR``: the config tree ``ganlab-train`` composes (for Hydra's compose API).

Imports stay light: ``import ganlab`` loads neither torch nor Lightning until ``load`` is called.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["CONF_DIR", "load"]


def __getattr__(name: str):
    if name == "CONF_DIR":  # resolved on use: importing a leaf module loads no other ganlab module
        from ganlab.common.errors import CONF_DIR

        return CONF_DIR
    raise AttributeError(f"module 'ganlab' has no attribute {name!r}")


def load(path, data_root: str | None = None):
    """The trained module (``GANModule``, ``BEGANModule``, ``AutoEncoderModule``, ``ClassifierModule``) of the
    ganlab checkpoint at ``path``, rebuilt from the run configuration it records and in eval mode; ``data_root``
    points an image run's data elsewhere. A missing or foreign file raises ``ganlab.common.errors.ConfigError``
    with one line."""
    from ganlab.composition.build import restore_checkpoint

    return restore_checkpoint(str(path), data_root)[1]
