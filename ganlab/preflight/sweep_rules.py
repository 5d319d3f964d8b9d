"""Preflight: a sweep folder belongs to one sweep. Before Hydra writes anything (``multirun.yaml``, any job's
``.hydra/``), a multirun into an existing ``hydra.sweep.dir`` is checked job by job: every job folder it holds must
be the job this command gives that number — the same overrides (so the same folder name: the seed is part of it),
trained with the same settings (a resume changes only what ``resume_rules.MAY_CHANGE`` lists) — and none may be held
by a live run. Any mismatch refuses the whole sweep in one line, with nothing written; a matching folder is finished
by the sweep (``hydra_plugins/ganlab_sweeper``: finished jobs skipped, interrupted ones resumed, missing ones run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from ganlab.common.errors import ConfigError

JOB_FOLDER = re.compile(r"^(\d+)_")


@dataclass
class SweepJob:
    """One job of a multirun as the sweeper numbers it: its task overrides and composed config."""

    num: int
    overrides: list[str]
    full: DictConfig  # composed with ``return_hydra_config=True``

    def folder(self) -> tuple[Path, Path]:
        """(sweep folder, this job's folder), as Hydra's launchers resolve them."""
        with open_dict(self.full):
            self.full.hydra.job.num = self.num
            self.full.hydra.job.id = self.num
        sweep = Path(str(self.full.hydra.sweep.dir))
        return sweep, sweep / str(self.full.hydra.sweep.subdir)


def task_jobs(task_overrides) -> list[list[str]]:
    """The jobs of a multirun in the order (= job numbers) and spelling (= ``.hydra/overrides.yaml``) of Hydra's
    basic sweeper, whose product ganlab's sweeper keeps. An ``interval(a, b)`` (a search sweeper's, on the command
    line) counts as its two ends here: what the preflight can check of it."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser, overrides = OverridesParser.create(), []
    for override in task_overrides:
        if override.is_sweep_override() and not override.is_discrete_sweep():
            value, key = override.value(), override.get_key_element()
            override = parser.parse_override(f"{key}=choice({value.start},{value.end})")
        overrides.append(override)
    return BasicSweeper.split_arguments(overrides, None)[0]


def has_interval(task_overrides) -> bool:
    return any(o.is_sweep_override() and not o.is_discrete_sweep() for o in task_overrides)


def recorded_overrides(folder: Path) -> list[str] | None:
    path = folder / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    try:
        return [str(o) for o in OmegaConf.to_container(OmegaConf.load(path))]
    except Exception:  # a damaged file: the folder cannot be shown to be this job's
        return ["<unreadable .hydra/overrides.yaml>"]


def check_sweep_folder(jobs: list[SweepJob], cfgs: dict[int, DictConfig]) -> None:
    """ConfigError (nothing written) unless every job folder of an existing sweep folder is this command's job of
    that number, with the same settings, and no live run holds it. ``cfgs``: each job's config without ``hydra``."""
    from ganlab.common.runtime import is_busy
    from ganlab.preflight.resume_rules import check_config_change
    from ganlab.preflight.run_dir import saved_run_config

    if not jobs:
        return
    sweep, _ = jobs[0].folder()
    if not sweep.is_dir():
        return
    by_num = {job.num: job for job in jobs}
    for folder in sorted(p for p in sweep.iterdir() if p.is_dir() and JOB_FOLDER.match(p.name)):
        num = int(JOB_FOLDER.match(folder.name).group(1))
        recorded = recorded_overrides(folder)
        if recorded is None or num not in by_num:
            continue  # not a job folder, or a job this command does not launch: left as it is
        job = by_num[num]
        _, expected = job.folder()
        if recorded != job.overrides or folder.name != expected.name:
            there = [o for o in recorded if o not in job.overrides] or ["(the same overrides, in another order)"]
            here = [o for o in job.overrides if o not in recorded] or ["(no other override)"]
            raise ConfigError(
                f"hydra.sweep.dir={sweep} holds another job {num} ({' '.join(there)}; this command's: "
                f"{' '.join(here)}); nothing was changed; accepted: the sweep's own command (to finish it), or a new "
                "hydra.sweep.dir"
            )
        busy = is_busy(folder)
        if busy:
            raise ConfigError(
                f"hydra.sweep.dir={sweep}: job {num} ({folder.name}) is in use by a live run ({busy}); "
                "accepted: the same command once that run has ended, or a new hydra.sweep.dir"
            )
        check_config_change(saved_run_config(folder), cfgs[num], f"hydra.sweep.dir={sweep} job {num}")


def search_values(params) -> tuple[list[list[str]], bool]:
    """For a search sweeper's ``hydra.sweeper.params``: per key the values the preflight can check — every value
    of a ``choice`` or ``range``, the two ends of an ``interval`` — and whether any values stay unchecked (the
    inside of an interval: drawn by the sampler when a trial starts)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser, axes, partial = OverridesParser.create(), [], False
    for key, spec in (params or {}).items():
        override = parser.parse_override(f"{key}={spec}")
        if override.is_discrete_sweep():
            axes.append([f"{key}={v}" for v in override.sweep_string_iterator()])
        elif override.is_sweep_override():  # an interval: its ends
            value = override.value()
            axes.append([f"{key}={v}" for v in (value.start, value.end)])
            partial = True
        else:
            axes.append([f"{key}={spec}"])
    return axes, partial


def is_search(full: DictConfig) -> bool:
    """Whether the composed job's Hydra config sweeps with a search sweeper (Optuna's) rather than a product."""
    target = str(OmegaConf.select(full, "hydra.sweeper._target_", default="") or "")
    return "optuna" in target.lower()
