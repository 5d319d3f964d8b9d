"""What ``ganlab-report`` reads: the jobs of one or more ``ganlab-train -m`` sweeps — each job folder's overrides,
settings, status (finished, failed, interrupted; never-started jobs from ``multirun.yaml``) and numbers — and the
records the report is built from. Bad input is a ``UsageError``: one line on stderr, exit status 2."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from ganlab.common.run_state import FINISHED, run_state
from ganlab.report import sources
from ganlab.report.metric_names import is_numeric, read_metrics

PROG = "ganlab-report"
INTERRUPTED, NOT_STARTED = "interrupted", "not started"
#: The statuses of a sweep's jobs, in the order the report counts them.
STATUSES = ("ok", "failed", INTERRUPTED, NOT_STARTED)


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage + message
        raise UsageError(f"{message}; see {PROG} --help")


@dataclass
class Job:
    num: int | None
    path: Path
    rel: str
    overrides: dict[str, str]
    config: DictConfig | None
    status: str  # ok | failed | interrupted | not started
    error: str = ""
    iteration: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Table:
    columns: list[tuple[str, str]]  # (key in a row, header)
    rows: list[dict]
    params: list[str]  # parameter keys shown (x and hue first)
    metrics: list[str]  # metric keys shown
    all_metrics: list[str]  # every metric key (the CSV)
    sort: list[str]  # metric keys sorted on ([] = job number)


def is_number(value) -> bool:
    """A finite number: rankable and plottable (NaN of a diverged run is kept in the table, not ranked)."""
    return is_numeric(value) and math.isfinite(value)


def discover_jobs(sweep: Path) -> list[Path]:
    """Job directories (with ``.hydra/overrides.yaml``) below ``sweep``, by job number (then path)."""
    found = []
    for root, dirs, _ in os.walk(sweep):
        here = Path(root)
        if here != sweep and (here / ".hydra" / "overrides.yaml").is_file():
            found.append(here)
            dirs.clear()  # a job's own folders hold no jobs
        else:
            dirs[:] = sorted(d for d in dirs if d != ".hydra")
    return sorted(found, key=lambda p: (job_number(p, sweep) is None, job_number(p, sweep) or 0, str(p)))


def job_number(path: Path, sweep: Path) -> int | None:
    match = re.match(r"\d+", path.relative_to(sweep).parts[0])
    return int(match.group()) if match else None


def parse_overrides(lines: list) -> dict[str, str]:
    out = {}
    for item in lines or []:
        key, sep, value = str(item).partition("=")
        if sep:
            out[key.lstrip("+~")] = value
    return out


def load_job(path: Path, sweep: Path, source: str = "json") -> Job:
    """A job folder read back: its settings, status (from its files) and numbers (``source``: ``metrics.json``'s, or
    the last values its CSV log or W&B offline runs hold, ``ganlab/report/sources.py``)."""
    job = _load_job(path, sweep)
    if source != "json" and job.status != "failed":
        job.iteration, job.metrics = sources.final(path, source)
    return job


def _load_job(path: Path, sweep: Path) -> Job:
    overrides = parse_overrides(OmegaConf.to_container(OmegaConf.load(path / ".hydra" / "overrides.yaml")))
    config_file = path / ".hydra" / "config.yaml"
    config = OmegaConf.load(config_file) if config_file.is_file() else None
    job = Job(job_number(path, sweep), path, str(path.relative_to(sweep)), overrides, config, "ok")
    metrics_file, failed_file = path / "metrics.json", path / "failed.json"
    data = None
    if metrics_file.is_file():
        try:
            data = json.loads(metrics_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            job.status, job.error = INTERRUPTED, "metrics.json is partial (unreadable JSON)"
    if isinstance(data, dict):
        job.metrics = read_metrics(data)
        job.iteration = data.get("iteration") if is_number(data.get("iteration")) else None
    if failed_file.is_file():
        job.status = "failed"
        try:
            failure = json.loads(failed_file.read_text())
            job.error = f"{failure.get('type', 'Error')}: {failure.get('error', '')}".strip()
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            job.error = "failed.json is unreadable"
    elif data is None and job.status == "ok":
        job.status, job.error = INTERRUPTED, "no metrics.json (killed, preempted or still running)"
    elif job.status == "ok":
        limit = OmegaConf.select(config, "model.max_iterations", default=None) if config is not None else None
        limit = limit if isinstance(limit, int) else None
        if run_state(path, limit) != FINISHED:
            done = "no final iteration" if job.iteration is None else f"iteration {job.iteration}"
            job.status = INTERRUPTED
            job.error = f"{done} of {limit if limit is not None else '?'} (killed, preempted or still running)"
    return job


def unstarted_jobs(sweep: Path, found: list[Job]) -> list[Job]:
    """The jobs of the sweep's command (``multirun.yaml``: its task overrides, multiplied out as the sweeper
    numbers them) that have no folder: killed before they started."""
    try:
        task = OmegaConf.select(OmegaConf.load(sweep / "multirun.yaml"), "hydra.overrides.task", default=None)
    except (OSError, ValueError, yaml.YAMLError):
        return []
    if not task:
        return []
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        jobs = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(list(task)), None)[0]
    except Exception:  # an override this Hydra cannot parse: no claim about missing jobs
        return []
    have = {job.num for job in found}
    return [
        Job(num, sweep, f"{num}_(no folder)", parse_overrides(overrides), None, NOT_STARTED,
            "not started (killed before it began)")
        for num, overrides in enumerate(jobs) if num not in have
    ]  # fmt: skip


def param_value(job: Job, key: str):
    """The job's value of ``key``: its config value (a config group: the group's ``name``), else the override."""
    if job.config is not None:
        value = OmegaConf.select(job.config, key, default=None, throw_on_resolution_failure=False)
        if isinstance(value, DictConfig) and "name" in value:  # a group's name (W&B's needs Hydra: the override)
            value = OmegaConf.select(value, "name", default=None, throw_on_resolution_failure=False)
        if value is not None and not OmegaConf.is_config(value):
            return value
    if key in job.overrides:
        try:
            return yaml.safe_load(job.overrides[key])
        except yaml.YAMLError:
            return job.overrides[key]
    return None


def resolve_sweep(sweep: Path) -> Path:
    if not sweep.exists():
        raise UsageError(f"SWEEP_DIR {str(sweep)!r} does not exist; accepted: a ganlab-train -m output directory")
    if not sweep.is_dir():
        raise UsageError(f"SWEEP_DIR {str(sweep)!r} is not a directory; accepted: a ganlab-train -m output directory")
    if not (sweep / "multirun.yaml").is_file():
        nested = sorted(p.parent for p in sweep.glob("*/multirun.yaml"))
        if len(nested) > 1:
            names = ", ".join(p.name for p in nested)
            raise UsageError(f"{str(sweep)!r} holds {len(nested)} sweeps; accepted: one of them ({names})")
        if len(nested) == 1:
            return nested[0]
    return sweep


def read_sweeps(paths: list[Path], source: str = "json") -> tuple[list[Path], list[Job]]:
    """(the sweep folders, every job of them): job folders read with ``source``, then the sweeps' never-started
    jobs; several sweeps are read as one (job paths relative to each sweep, prefixed with its name). UsageError
    for a folder that holds no job."""
    sweeps = [resolve_sweep(path) for path in paths]
    jobs = []
    for sweep in sweeps:
        found = [load_job(path, sweep, source) for path in discover_jobs(sweep)]
        found += unstarted_jobs(sweep, found)
        if not found:
            raise UsageError(
                f"no job directories (.hydra/overrides.yaml) under {str(sweep)!r}; "
                "accepted: a ganlab-train -m output directory"
            )
        for job in found:
            job.rel = f"{sweep.name}/{job.rel}" if len(sweeps) > 1 else job.rel
            jobs.append(job)
    return sweeps, jobs
