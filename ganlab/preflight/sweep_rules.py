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
    basic sweeper, whose product ganlab's sweeper keeps."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    return BasicSweeper.split_arguments(list(task_overrides), None)[0]


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
