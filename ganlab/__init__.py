"""ganlab: GANs and a kurtosis-regularised autoencoder on PyTorch Lightning + Hydra.

The public Python API (the package root is its façade: it may reach every layer, and no ganlab module imports it):

- ``ganlab.load(path)``: the trained module of a ``ganlab-train`` checkpoint, in eval mode — ``.generator``,
  ``.sample(n)`` (G's EMA where the run kept one: ``.eval_generator``), ``.run_config`` (the run's settings);
- ``ganlab.train(*overrides, run_dir=None)``: one ``ganlab-train`` run (its overrides as on the command line) in a
  child process; returns the run folder (``metrics.json``, ``checkpoints/last.ckpt``), raises ``ValueError`` for
  bad settings and ``RuntimeError`` for a failed run, each with ``ganlab-train``'s one-line error;
- ``ganlab.compose(*overrides)``: the settings a ``ganlab-train`` run with these overrides gets (a ``DictConfig``;
  nothing is trained or written);
- ``ganlab.CONF_DIR``: the config tree ``ganlab-train`` composes.

Imports stay light: ``import ganlab`` loads neither torch nor Lightning until ``load`` is called.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["CONF_DIR", "compose", "load", "train"]


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


def compose(*overrides: str, config_dir=None):
    """The run configuration ``ganlab-train *overrides`` composes, as a ``DictConfig`` (Hydra's compose API on
    ``CONF_DIR`` with ganlab's schemas and resolvers registered; ``config_dir``: a folder of your own configs searched
    too, as ``--config-dir``). Keys that name Hydra's run (``paths.run_dir``) resolve only inside a run."""
    from pathlib import Path

    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    import ganlab.composition.build  # noqa: F401  (registers the schemas conf/ composes with)
    import ganlab.composition.loggers  # noqa: F401  (the ganlab.* resolvers)
    from ganlab.common.errors import CONF_DIR

    extra = [] if config_dir is None else [f"hydra.searchpath=[file://{Path(config_dir).absolute()}]"]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose("train", overrides=[*map(str, overrides), *extra])


#: ``ganlab-train``'s exit status for bad settings (one line on stderr, nothing written).
BAD_SETTINGS = 2


def train(*overrides: str, run_dir=None, env: dict | None = None):
    """Train one run as ``ganlab-train *overrides`` does, in a child process (Hydra owns a process's global state,
    and a run's crash or signal stays out of the caller's interpreter); its output goes to the caller's stdout.
    ``run_dir`` fixes the run folder (``hydra.run.dir``; default: ``ganlab-train``'s own, under ``outputs/``).
    Returns the run folder as a ``pathlib.Path``. ``-m`` sweeps are the command line's: use ``ganlab-train -m``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    if "-m" in overrides or "--multirun" in overrides:
        raise ValueError("ganlab.train runs one training; accepted: overrides without -m (sweeps: ganlab-train -m)")
    folder = None if run_dir is None else str(Path(run_dir).absolute()).replace("\\", "\\\\").replace("'", "\\'")
    argv = [*map(str, overrides), *([f"hydra.run.dir='{folder}'"] if folder is not None else [])]  # quoted: = , [ ]
    command = [sys.executable, "-m", "ganlab.cli.train", *argv]
    proc = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        message = lines[-1] if lines else f"ganlab-train exited with status {proc.returncode}"
        raise (ValueError if proc.returncode == BAD_SETTINGS else RuntimeError)(message)
    if run_dir is not None:
        return Path(run_dir).absolute()
    for line in reversed(proc.stdout.splitlines()):
        if "| run dir " in line:
            return Path(line.rsplit("| run dir ", 1)[1].strip())
    raise RuntimeError("ganlab-train finished without naming its run folder")
