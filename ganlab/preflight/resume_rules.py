"""What may change when a run continues: the composed settings against those a checkpoint (or a run folder)
was trained with.

A resume may change the training length, logging, callbacks, paths and the process layout; any other change
(an lr, a loss, a seed, the data…) would make the run a different experiment under the old one's name. It is
refused in one line naming the keys, unless ``allow_config_change=true``; every resume is recorded in
``<run_dir>/resumes.jsonl`` with the time and the keys that changed."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganlab.common.durable import set_aside, write_durably
from ganlab.common.errors import ConfigError

#: Keys (and subtrees) a resume may change.
MAY_CHANGE = (
    "model.max_iterations",
    "trainer.max_epochs",
    "trainer.enable_progress_bar",
    "trainer.log_every_n_steps",
    "trainer.enable_model_summary",
    "trainer.default_root_dir",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.strategy",
    "model.log_every_n_iterations",
    "data.num_workers",
    "logger",
    "callbacks",
    "paths",
    "name",
    "ckpt_path",
    "auto_resume",
    "allow_config_change",
)
RUN_DIR_PLACEHOLDER = "<run_dir>"
RESUMES = "resumes.jsonl"


def flatten(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): node}


def plain(cfg: DictConfig) -> dict:
    """The composed config as the checkpoint stores it (resolved), outside Hydra's run time."""
    cfg = cfg.copy()
    if OmegaConf.select(cfg, "paths.run_dir", throw_on_resolution_failure=False) is None and "paths" in cfg:
        OmegaConf.update(cfg, "paths.run_dir", RUN_DIR_PLACEHOLDER, force_add=True)
    try:
        return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    except Exception:  # an interpolation that needs the run time (e.g. in the logger): those keys may change
        return OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)


def _may_change(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in MAY_CHANGE)


def changes(saved: dict, current: dict) -> tuple[dict, dict]:
    """(allowed, refused): ``{key: [saved value, current value]}`` of the keys whose values differ."""
    old, new = flatten(saved or {}), flatten(current)
    old_dir, new_dir = str(old.get("paths.run_dir")), str(new.get("paths.run_dir"))

    def same(a, b) -> bool:  # equal, or the same path below another run directory
        return a == b or isinstance(a, str) and isinstance(b, str) and a.replace(old_dir, new_dir) == b

    diff = {k: [old.get(k), new.get(k)] for k in sorted(old.keys() | new.keys()) if not same(old.get(k), new.get(k))}
    allowed = {k: v for k, v in diff.items() if _may_change(k)}
    return allowed, {k: v for k, v in diff.items() if k not in allowed}


REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")


def derived_from_changeable(cfg: DictConfig, keys) -> set[str]:
    """The ``keys`` whose composed value is an interpolation of keys that may change (e.g. a schedule's
    ``total_iters: ${model.max_iterations}``): they follow the change by construction."""
    raw = flatten(OmegaConf.to_container(cfg, resolve=False))
    derived = set()
    for key in keys:
        value = raw.get(key)
        references = REFERENCE.findall(value) if isinstance(value, str) else []
        if references and REFERENCE.sub("", value) == "" and all(_may_change(r) for r in references):
            derived.add(key)
    return derived


def describe(refused: dict, limit: int = 4) -> str:
    shown = [f"{k} {old!r} → {new!r}" for k, (old, new) in list(refused.items())[:limit]]
    more = f" and {len(refused) - limit} more" if len(refused) > limit else ""
    return ", ".join(shown) + more


def check_config_change(saved: dict | None, cfg: DictConfig, what: str) -> dict:
    """The changed keys ``{key: [old, new]}``; ConfigError when a key outside ``MAY_CHANGE`` changed and the user did
    not set ``allow_config_change=true``. ``what``: the checkpoint or folder, for the message."""
    if not saved:
        return {}
    allowed, refused = changes(saved, plain(cfg))
    for key in derived_from_changeable(cfg, refused):
        allowed[key] = refused.pop(key)
    if refused and not cfg.get("allow_config_change", False):
        raise ConfigError(
            f"{what} was trained with other settings: {describe(refused)}; accepted: the same settings (only "
            "length, logging, callbacks, paths and devices may change on a resume), another run directory, or "
            "allow_config_change=true to continue with the new ones"
        )
    return {**allowed, **refused}


def read_resumes(path: Path) -> list[str]:
    """The valid lines of ``resumes.jsonl``. A damaged file (a line that is not a JSON object: a write cut by a crash,
    an edit) is set aside as ``resumes.jsonl.damaged`` with one line on stderr; its valid lines are kept."""
    if not path.is_file():
        return []
    lines, damaged = [], False
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            valid = isinstance(json.loads(line), dict)
        except ValueError:
            valid = False
        damaged |= not valid
        lines += [line] if valid else []
    if damaged:
        set_aside(path, f"its {len(lines)} valid line(s) kept")
    return lines


def record_resume(run_dir: Path, checkpoint: str, iteration, changed: dict) -> None:
    """Adds this resume to ``<run_dir>/resumes.jsonl`` (rewritten atomically and durably: a crash leaves the old
    file or the new one)."""
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "checkpoint": checkpoint, "iteration": iteration}
    entry["changed"] = {k: v for k, v in changed.items() if not k.startswith("paths.")}
    path = run_dir / RESUMES
    text = "".join(line + "\n" for line in [*read_resumes(path), json.dumps(entry, default=str)])
    write_durably(path, lambda f: f.write(text.encode()), what=f"the previous {RESUMES}")


def resume_path(cfg: DictConfig) -> str | None:
    """The checkpoint ``ckpt_path`` (``last`` or a path) names, checked to exist and read (torch only, no Lightning:
    a missing file is refused in about a second); None without ``ckpt_path``. The file read is kept for
    ``check_resume``."""
    if cfg.get("ckpt_path") is None:
        return None
    from ganlab.composition.build import experiment_dir
    from ganlab.composition.checkpoints import resolve_resume

    path = resolve_resume(cfg.ckpt_path, experiment_dir(cfg))
    if str(cfg.ckpt_path) == "last":
        from ganlab.common.runtime import say

        say(f"[ganlab] ckpt_path=last: {path}")  # which run "last" is, before anything else
    return path


def check_something_left(cfg: DictConfig, run_dir) -> None:
    """A single run that would resume (``ckpt_path``, or its folder's own ``last.ckpt``) a checkpoint already at
    ``model.max_iterations`` raises NothingToTrain: one line, and nothing is written — unless its folder records an
    interruption (``preempted`` in metrics.json: a signal during the last iteration or the final evaluation), whose
    re-run does the missing final evaluation only."""
    from ganlab.common.errors import NothingToTrain
    from ganlab.common.run_state import read_json
    from ganlab.composition.build import experiment_dir
    from ganlab.composition.checkpoints import read_checkpoint, resolve_resume

    limit = OmegaConf.select(cfg, "model.max_iterations", default=None)
    if limit is None or "preempted" in (read_json(Path(str(run_dir)) / "metrics.json") or {}):
        return
    path = resolve_resume(cfg.get("ckpt_path"), experiment_dir(cfg), Path(str(run_dir)), cfg.get("auto_resume", True))
    if path is None:
        return
    done = (read_checkpoint(path).get("ganlab") or {}).get("iteration")
    if done is not None and done >= limit:
        raise NothingToTrain(
            f"[ganlab] nothing to train: {path} is at iteration {done} and model.max_iterations={limit}; "
            "raise model.max_iterations to train on"
        )


def check_resume(cfg: DictConfig, path: str | None) -> None:
    """The checkpoint at ``path`` (``resume_path``) is of this very architecture, trained with these settings."""
    if path is None:
        return
    import torch

    from ganlab.composition.build import build_module
    from ganlab.composition.checkpoints import check_fits, read_checkpoint

    checkpoint = read_checkpoint(path)
    if cfg.get("model") is not None:  # another architecture first: the more telling message
        with torch.device("meta"):
            module = build_module(cfg, record_config=False)
        check_fits(checkpoint, module, "ckpt_path", cfg.ckpt_path)
    check_config_change((checkpoint.get("ganlab") or {}).get("config"), cfg, f"ckpt_path={cfg.ckpt_path}")
