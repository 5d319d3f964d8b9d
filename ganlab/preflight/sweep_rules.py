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
#: At most this many settings of a sweep (or of a search space) are composed and checked up front.
MAX_SWEEP_CHECKS = 256


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


def checkable_values(override) -> tuple[list[str], bool]:
    """The values of an override the preflight can check — every value of a list, ``choice`` or ``range``, the two
    ends of an ``interval`` — as strings, and whether values stay unchecked (an interval's inside)."""
    if override.is_discrete_sweep():
        return list(override.sweep_string_iterator()), False
    if override.is_sweep_override():
        value = override.value()
        return [str(value.start), str(value.end)], True
    return [override.get_value_element_as_str()], False


def task_jobs(task_overrides) -> list[list[str]]:
    """The jobs of a multirun in the order (= job numbers) and spelling (= ``.hydra/overrides.yaml``) of Hydra's
    basic sweeper, whose product ganlab's sweeper keeps. An ``interval(a, b)`` (a search sweeper's, on the command
    line) counts as its two ends here: what the preflight can check of it."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser, overrides = OverridesParser.create(), []
    for override in task_overrides:
        if override.is_sweep_override() and not override.is_discrete_sweep():
            ends = ",".join(checkable_values(override)[0])
            override = parser.parse_override(f"{override.get_key_element()}=choice({ends})")
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
    """For a search sweeper's ``hydra.sweeper.params``: per key the ``key=value`` settings the preflight can check
    (``checkable_values``), and whether any values stay unchecked (drawn by the sampler when a trial starts)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser, axes, partial = OverridesParser.create(), [], False
    for key, spec in (params or {}).items():
        values, unchecked = checkable_values(parser.parse_override(f"{key}={spec}"))
        axes.append([f"{key}={v}" for v in values])
        partial = partial or unchecked
    return axes, partial


def check_search_space(full: DictConfig, base: list[str], check) -> None:
    """A search sweeper's space: every setting the preflight can know before the sampler draws (each choice, each
    interval's ends, with the command's own overrides ``base``) checked by ``check(overrides, context)``; one line
    says what stays unchecked."""
    import itertools

    axes, partial = search_values(OmegaConf.select(full, "hydra.sweeper.params", default=None))
    combos = list(itertools.islice(itertools.product(*axes), MAX_SWEEP_CHECKS))
    for values in combos:
        check([*base, *values], f" (in the search space: {' '.join(values)})")
    inside = "; values inside an interval are drawn per trial and checked when it starts" if partial else ""
    print(f"[ganlab] search: {len(combos)} settings of the space checked (every choice, each interval's ends){inside}",
          flush=True)  # fmt: skip


def is_search(full: DictConfig) -> bool:
    """Whether the composed job's Hydra config sweeps with a search sweeper (Optuna's) rather than a product."""
    target = str(OmegaConf.select(full, "hydra.sweeper._target_", default="") or "")
    return "optuna" in target.lower()
