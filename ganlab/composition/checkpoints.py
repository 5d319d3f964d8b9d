"""Checkpoints as the entry points see them: read with one-line errors, find the one to resume, check it fits.

``ckpt_path`` of ``ganlab-train`` accepts ``null`` (a fresh run, or the run directory's own ``last.ckpt`` when
the directory already has one: a requeued Slurm job), ``last`` (the newest ``last.ckpt`` of the experiment)
or a path.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganlab.common.errors import ConfigError, one_line
from ganlab.common.runtime import say
from ganlab.composition.fit import NETWORK_SHAPES

LAST = "last"
LAST_FILE = Path("checkpoints") / "last.ckpt"
PREVIOUS_NAME = "last.prev.ckpt"  # the generation before last.ckpt (callbacks/run_checkpoint.py)
ACCEPTED = "a .ckpt file written by ganlab-train"


#: The last checkpoint read, keyed by (path, mtime, size): the preflight, the resume and the fit check of one run
#: read the same file; ``forget_checkpoint`` releases it once the trainer is built (Lightning loads its own copy).
_LAST_READ: dict[tuple, dict] = {}


def forget_checkpoint() -> None:
    _LAST_READ.clear()


#: Classes that moved since a checkpoint may have been written: the run config a checkpoint records names them by
#: their old path, which restoring (``instantiate``) and resuming (the settings comparison) read under the new one.
MOVED_TARGETS = {
    "ganlab.losses.BEGANLoss": "ganlab.modules.began.BEGANLoss",
    "ganlab.loggers.wandb_logger": "ganlab.composition.loggers.wandb_logger",
    "ganlab.loggers.build_logger": "ganlab.composition.loggers.build_logger",
}


#: ``GANLoss``'s single ``penalty`` became named ``penalties`` (issue #19): the name each old penalty now has.
PENALTY_NAMES = {"ganlab.penalties.GradientPenalty": "gp", "ganlab.penalties.DraganPenalty": "dragan"}


#: Network options added since, with the value that reproduces the networks of a run written before them.
NEW_NET_OPTIONS = {"spectral_norm": False}


def _surrogate_before_issue_29(model: dict) -> str:
    """G's objective at a second-order look-ahead held no data term before issue #29 (``fake_only``); without
    second-order unrolling every surrogate is the same, so such a run takes today's default."""
    second_order = model.get("unroll_steps") and model.get("unroll_mode") == "second_order"
    return "fake_only" if second_order else "game"


def upgrade_config(node):
    """``node`` (a run config as plain containers) in today's terms, in place: every moved ``_target_`` renamed,
    a loss bundle's single ``penalty`` turned into ``penalties``, network options and engine settings added since set
    to their old behaviour."""
    if isinstance(node, dict):
        if str(node.get("_target_", "")).startswith("ganlab.nets.") and "init_gain" in node:
            for option, value in NEW_NET_OPTIONS.items():
                node.setdefault(option, value)
        if node.get("_target_") == "ganlab.modules.GANModule" and "unroll_surrogate" not in node:
            node["unroll_surrogate"] = _surrogate_before_issue_29(node)
        if node.get("_target_") == "ganlab.losses.GANLoss" and "penalty" in node:
            penalty = node.pop("penalty")
            node["penalties"] = {}
            if penalty is not None:
                penalty.setdefault("every", 1)  # the default each penalty YAML now states
                node["penalties"][PENALTY_NAMES.get(penalty.get("_target_"), "penalty")] = penalty
        for key, value in node.items():
            if key == "_target_" and value in MOVED_TARGETS:
                node[key] = MOVED_TARGETS[value]
            else:
                upgrade_config(value)
    elif isinstance(node, list):
        for value in node:
            upgrade_config(value)
    return node


def read_checkpoint(path: str | Path, key: str = "ckpt_path") -> dict:
    """The checkpoint dict (CPU tensors, ``weights_only``; treat it as read-only), or ConfigError naming ``key``
    and the problem."""
    file = Path(path).expanduser()
    if file.is_dir():
        raise ConfigError(f"{key}={path} is a folder; accepted: the path of {ACCEPTED}")
    if file.is_symlink() and not file.exists():
        raise ConfigError(f"{key}={path} is a link that resolves to nothing (a loop or a missing target); accepted: "
                          f"the path of {ACCEPTED}")  # fmt: skip
    if not file.is_file():
        raise ConfigError(f"{key}={path} does not exist; accepted: the path of {ACCEPTED}")
    if file.stat().st_size == 0:
        raise ConfigError(f"{key}={path} is an empty file (0 bytes); accepted: the path of {ACCEPTED}")
    stat = file.stat()
    identity = (str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    if identity in _LAST_READ:
        return _LAST_READ[identity]
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = one_line(exc)[:160].strip("() ") or type(exc).__name__
        raise ConfigError(f"{key}={path} is not a readable checkpoint ({reason}); accepted: {ACCEPTED}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ConfigError(f"{key}={path} holds no model weights (no state_dict); accepted: {ACCEPTED}")
    upgrade_config((checkpoint.get("ganlab") or {}).get("config"))
    _LAST_READ.clear()
    _LAST_READ[identity] = checkpoint
    return checkpoint


def latest_checkpoint(experiment_dir: Path) -> Path | None:
    """The most recently written ``<run>/checkpoints/last.ckpt`` under an experiment's output folder."""
    candidates = [p for p in experiment_dir.glob(f"*/{LAST_FILE}") if p.is_file()]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def usable(path: str | Path, key: str = "ckpt_path") -> str:
    """``path`` when it reads as a checkpoint; else, for a ``last.ckpt`` with its previous generation beside it,
    that generation (one warning line on stderr); else the ConfigError of ``read_checkpoint``."""
    try:
        read_checkpoint(path, key)
        return str(Path(str(path)).expanduser())
    except ConfigError as exc:
        previous = Path(str(path)).expanduser().with_name(PREVIOUS_NAME)
        if Path(str(path)).name != LAST_FILE.name or not previous.is_file():
            raise
        read_checkpoint(previous, key)  # both unreadable: the error names the older one

        say(f"[ganlab] warning: {one_line(exc)}; using the previous checkpoint {previous}", error=True)
        return str(previous)


def resolve_resume(ckpt_path, experiment_dir: Path, run_dir: Path | None = None, auto_resume: bool = True):
    """The checkpoint a run continues from (a path string), or None for a fresh run.

    ``last`` → the newest ``last.ckpt`` under ``experiment_dir``; a path → itself (checked); ``null`` → the run
    directory's own ``last.ckpt`` when it exists (a requeued job whose directory is derived from its job id).
    An unreadable ``last.ckpt`` (a crash while it was written by something else, a full disk) falls back to the
    ``last.prev.ckpt`` beside it."""
    if ckpt_path is None:
        own = run_dir / LAST_FILE if run_dir is not None else None
        if auto_resume and own is not None and (own.is_file() or own.with_name(PREVIOUS_NAME).is_file()):
            return usable(own)
        return None
    if str(ckpt_path) == LAST:
        found = latest_checkpoint(experiment_dir)
        if found is None:
            raise ConfigError(
                f"ckpt_path=last: no {LAST_FILE} under {experiment_dir}; accepted: the path of {ACCEPTED}, "
                "or last once a run of this experiment has written one"
            )
        return usable(found)
    return usable(ckpt_path)


def _short(target) -> str:
    return str(target or "?").rsplit(".", 1)[-1]


def check_fits(checkpoint: dict, module: torch.nn.Module, key: str, path) -> None:
    """ConfigError unless the checkpoint's tensors have the module's names and shapes (another architecture)."""
    saved = checkpoint["state_dict"]
    own = module.state_dict()
    missing = [k for k in own if k not in saved]
    extra = [k for k in saved if k not in own]
    reshaped = [k for k in own if k in saved and tuple(saved[k].shape) != tuple(own[k].shape)]
    if not (missing or extra or reshaped):
        return
    model = ((checkpoint.get("ganlab") or {}).get("config") or {}).get("model") or {}
    nets = [_short(model[net].get("_target_")) for net, _ in NETWORK_SHAPES if isinstance(model.get(net), dict)]
    saved_by = f"{_short(model.get('_target_'))}({', '.join(nets)})" if model else "another model"
    if reshaped:
        k = reshaped[0]
        example = f"{k} is {list(saved[k].shape)} there, {list(own[k].shape)} here"
    else:
        example = f"{(missing or extra)[0]} is {'missing there' if missing else 'not in this model'}"
    raise ConfigError(
        f"{key}={path} was saved by a different architecture ({saved_by}): {len(missing)} tensors missing, "
        f"{len(extra)} unexpected, {len(reshaped)} of another shape, e.g. {example}; "
        "accepted: a checkpoint of the same model configuration"
    )
