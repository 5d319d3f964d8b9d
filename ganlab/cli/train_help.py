"""``ganlab-train --help``: ganlab's own usage text (Hydra's generic help stays behind ``--hydra-help``). The groups
and their choices are read from the config tree, so the text cannot fall behind a new preset or loss."""

from __future__ import annotations

from ganlab.common.errors import CONF_DIR

#: Groups worth listing, in the order a user picks them (each is a folder of conf/).
GROUPS = ("experiment", "data", "model", "loss", "optim", "trainer", "logger", "callbacks")
WIDTH = 120

USAGE = """\
usage: ganlab-train [-m] [-k K] [-ds N] [-gs N] [group=option ...] [key=value ...]

Trains one run (or, with -m, a sweep of runs) composed from ganlab's config groups; every setting is a Hydra
override. Bad input is refused in one line with exit code 2 before anything is written.

  ganlab-train                                     the default experiment (ring_unrolled), offline on CPU
  ganlab-train experiment=mnist_dcgan loss=hinge   a preset, one group changed
  ganlab-train loss=cross_entropy -k 4 -ds 2 -gs 5 the course report's flags: -k model.unroll_steps,
                                                   -ds model.d_steps, -gs model.g_steps, -l loss,
                                                   -z model.latent_dim, -b data.batch_size
  ganlab-train -m seed=0,1,2 loss=minimax,lsgan model.unroll_steps=0,5
                                                   a sweep (multirun/<timestamp>/<job>), one job per combination
  ganlab-train -m <the same> hydra.sweep.dir=multirun/<timestamp>
                                                   finish a killed sweep: finished jobs skipped, interrupted
                                                   ones resumed exactly, missing ones run
  ganlab-train -m hydra/launcher=parallel …        a sweep's jobs side by side, one a core (threads=N: N each)
  ganlab-train -m hydra/sweeper=ring_search experiment=ring_gan objective=modes_then_hq
                                                   an Optuna search over the learning rates and k
  ganlab-train ckpt_path=last model.max_iterations=6000
                                                   continue the newest run of the experiment (its file is named
                                                   first); ckpt_path=<file.ckpt> continues that checkpoint
  ganlab-train --config-dir my/conf experiment=mine
                                                   your own presets, losses and nets beside ganlab's
  ganlab-train experiment=ring_gan --cfg job       print the composed config and stop

Environment: GANLAB_OUTPUT_DIR (run folders, default outputs), GANLAB_MULTIRUN_DIR (sweeps, default multirun),
GANLAB_DATA_DIR (datasets, default data), GANLAB_CLASSIFIER_DIR (domain classifiers, default classifiers),
GANLAB_METRIC_CACHE (cached real statistics).

Other commands: ganlab-eval (score a checkpoint), ganlab-sample (N samples of a checkpoint as PNGs / .npz for
external evaluators), ganlab-latent (inversion, inpainting, interpolation, arithmetic, truncation); each answers
--help; ganlab-report reads sweeps. From Python: ganlab.compose, ganlab.train, ganlab.load. Loggers:
logger=csv (default), wandb, tensorboard, or several: logger=[wandb,tensorboard]. Hydra's help: --hydra-help.
"""


def _wrapped(prefix: str, names: list[str]) -> list[str]:
    lines, line = [], prefix
    for name in names:
        piece = name if line == prefix else f", {name}"
        if len(line) + len(piece) > WIDTH:
            lines.append(line + ",")
            line = " " * len(prefix) + name
        else:
            line += piece
    return [*lines, line]


def usage() -> str:
    """The usage text with every group's choices as conf/ holds them now."""
    lines = [USAGE, "Groups and their choices (group=option):"]
    for group in GROUPS:
        names = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        lines += _wrapped(f"  {group:<11}", names)
    return "\n".join(lines) + "\n"
