"""Weights & Biases run naming: OmegaConf resolvers registered when this module is imported
(``ganlab.composition.loggers`` imports it, and ``ganlab.preflight.command_line`` imports that, so they exist before
Hydra composes):

- ``${ganlab.wandb_group:<fallback>}``: in a Hydra multirun, the job's *configuration* — every override but the seed
  (``<experiment>:<swept values but the seed>~<hash>``), so the seeds of one configuration share a group across
  sweeps and W&B's grouping shows their mean and spread —, otherwise ``<fallback>`` (the experiment name);
- ``${ganlab.wandb_name:<run dir>}``: in a multirun, ``<job num>_<the job's values of the swept keys>`` (e.g.
  ``1_loss=hinge``; all its overrides, Hydra's ``override_dirname``, when the sweep is not on the command line;
  ``/`` of group overrides such as ``callbacks/metrics=classifier`` written ``.``), otherwise the run dir's name;
- ``${ganlab.wandb_tags:}``: the experiment name, the loss name, ``k=<unroll_steps>`` when the model unrolls, and
  ``sweep:<sweep folder>`` in a multirun.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

MAX_TAG_LEN = 64  # W&B's limits
MAX_NAME_LEN = 128


def _hydra_config():
    """The running job's Hydra config, or None outside a Hydra job (e.g. a config composed in a test)."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _multirun_config():
    """The Hydra config when this job is part of a multirun, else None."""
    from hydra.types import RunMode

    hc = _hydra_config()
    return hc if hc is not None and hc.get("mode") == RunMode.MULTIRUN else None


def sanitize(text: str, max_len: int = MAX_NAME_LEN) -> str:
    """A W&B-friendly one-line label: path separators → ``.``, whitespace → ``_``, at most ``max_len`` chars (W&B
    rejects longer names and tags; a cut label ends in ``...``)."""
    text = re.sub(r"\s+", "_", str(text).strip()).replace("/", ".").replace("\\", ".")
    return text if len(text) <= max_len else text[: max_len - 3] + "..."


#: Keys whose values only repeat a configuration (a comparison's cell is every job that differs by them alone).
REPEAT_KEYS = frozenset({"seed"})


def wandb_group(fallback: Any = None) -> str | None:
    """``${ganlab.wandb_group:${name}}``: in a multirun one group per *cell*, every override of the job but the seed —
    the seeds of one configuration share it, and the same configuration run in another sweep joins it (the sweep is
    a tag, ``sweep:<folder>``). Written ``<fallback>:<the swept values but the seed>~<hash of the cell's overrides>``
    (the hash left out when the swept values are the whole cell); else ``fallback``."""
    hc = _multirun_config()
    if hc is None:
        return None if fallback is None else sanitize(fallback)
    cell = sorted(o for o in _task_overrides(hc) if o.split("=", 1)[0].lstrip("+~") not in REPEAT_KEYS)
    if not cell:
        return sanitize(fallback)
    swept = _job_label(hc, exclude=REPEAT_KEYS)  # readable: the swept values; the hash: all the cell's overrides
    shown = swept.split(",") if swept else []
    if sorted(shown) == cell:
        return unique_label(f"{fallback}:{','.join(cell)}")
    digest = short_hash(",".join(cell))
    return unique_label(f"{fallback}:{swept}~{digest}" if swept else f"{fallback}~{digest}")


def short_hash(text: str) -> str:

    return hashlib.sha1(text.encode()).hexdigest()[:8]


def unique_label(text: str, max_len: int = MAX_NAME_LEN) -> str:
    """``sanitize`` that keeps long labels apart: a label cut to ``max_len`` ends with a hash of the whole."""
    clean = sanitize(text, 10**6)
    if len(clean) <= max_len:
        return clean
    digest = short_hash(clean)
    return f"{clean[: max_len - len(digest) - 1]}~{digest}"


def _task_overrides(hc) -> list[str]:
    """The job's own overrides (Hydra's, without ``ckpt_path``: where a run resumes from is not what it is)."""
    return [str(o) for o in (hc.overrides.get("task") or []) if str(o) and not str(o).startswith("ckpt_path=")]


def swept_keys(argv: list[str]) -> set[str]:
    """The keys a multirun command line sweeps (``loss=a,b`` → ``loss``); empty when there are none or ``argv`` is
    not a Hydra command line (e.g. a job started by a launcher in another process: see ``sweep_command``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        overrides = OverridesParser.create().parse_overrides([a for a in argv if not a.startswith("-")])
    except Exception:
        return set()
    return {ov.key_or_group for ov in overrides if ov.is_sweep_override()}


def sweep_command(hc) -> list[str]:
    """The sweep's own overrides (``<sweep dir>/multirun.yaml``, written before any job starts), so that a job in a
    launcher's process (joblib, Slurm) knows what was swept; this process's command line otherwise."""
    path = Path(str(hc.sweep.dir)) / "multirun.yaml"
    try:
        task = OmegaConf.select(OmegaConf.load(path), "hydra.overrides.task", default=None)
    except Exception:  # no file yet (a test composing a job), or unreadable
        task = None
    return [str(o) for o in task] if task else sys.argv[1:]


def _job_label(hc, exclude: frozenset[str] = frozenset()) -> str:
    """What tells this multirun job from the others: its values of the swept keys (from the command line), else
    Hydra's ``override_dirname`` (every override of the job but the seed). ``exclude``: swept keys left out (a
    sweep of nothing but them is labelled "")."""
    swept = swept_keys(sweep_command(hc))
    task = _task_overrides(hc)
    mine = sorted(o for o in task if o.split("=", 1)[0].lstrip("+~") in swept - exclude)
    if mine:
        return ",".join(mine)
    if swept and swept <= exclude:
        return ""
    return str(hc.job.get("override_dirname") or "")


def wandb_name(run_dir: Any = None) -> str | None:
    """``${ganlab.wandb_name:${paths.run_dir}}``: a multirun job's ``<num>_<swept overrides>``, else the run
    directory's name."""
    hc = _multirun_config()
    if hc is not None:
        num, label = hc.job.get("num"), _job_label(hc)
        return sanitize(f"{num}_{label}" if label else f"job{num}")
    if run_dir is None:
        return None
    return sanitize(Path(str(run_dir)).name) or None


def auto_tags(_root_: DictConfig | None = None) -> ListConfig:
    """``${ganlab.wandb_tags:}``: [experiment name, loss name, ``k=<unroll_steps>`` when the model has it] (a
    ListConfig: ``OmegaConf.resolve``, hence ``--cfg job --resolve``, cannot store a plain list in the node)."""
    if _root_ is None:
        return ListConfig([])
    tags = [
        OmegaConf.select(_root_, "name", default=None),
        OmegaConf.select(_root_, "loss.name", default=None),
    ]
    k = OmegaConf.select(_root_, "model.unroll_steps", default=None)
    if k is not None:
        tags.append(f"k={k}")
    hc = _multirun_config()
    if hc is not None:  # the sweep this job ran in (its group is the configuration's, across sweeps)
        tags.append(f"sweep:{Path(str(hc.sweep.dir)).name}")
    return ListConfig([sanitize(t, MAX_TAG_LEN) for t in tags if t not in (None, "")])


def register_resolvers() -> None:
    for name, fn in (
        ("ganlab.wandb_group", wandb_group),
        ("ganlab.wandb_name", wandb_name),
        ("ganlab.wandb_tags", auto_tags),
    ):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


register_resolvers()
