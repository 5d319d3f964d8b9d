"""Hydra's basic sweeper — the same cartesian product, job numbers, folders and launchers — that skips the jobs
the sweep folder already holds finished, so that re-running a sweep's command with ``hydra.sweep.dir=<that sweep>``
finishes it: finished jobs are not launched (not a byte of their folders changes, mtimes included), interrupted
ones are launched into their own folders and resume exactly from their ``last.ckpt`` (``auto_resume``), failed and
never-started ones run. ``multirun.yaml`` is written once, by the sweep's first launch.

That the folder holds *these* jobs (the same overrides under each job number, the same settings) is checked by
ganlab-train's preflight before Hydra runs (``ganlab/preflight/sweep_rules.py``); this sweeper only picks what to
launch. It launches each run of consecutive jobs to do as one batch (a launcher numbers a batch's jobs from its first
index), cut at ``max_batch_size``.
"""

# No ``from __future__ import annotations``: Hydra executes plugin modules outside ``sys.modules`` while scanning,
# where string annotations break ``dataclass``; OmegaConf reads the real types of the config class.
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple  # noqa: UP035 (real types for OmegaConf's structured config)

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf, open_dict

log = logging.getLogger(__name__)


@dataclass
class GanlabSweeperConf:
    _target_: str = "hydra_plugins.ganlab_sweeper.ganlab_sweeper.GanlabSweeper"
    max_batch_size: Optional[int] = None  # noqa: UP045
    params: Optional[Dict[str, str]] = None  # noqa: UP006, UP045


ConfigStore.instance().store(group="hydra/sweeper", name="ganlab", node=GanlabSweeperConf, provider="ganlab")


def runs(indices: List[int], limit: Optional[int]) -> List[List[int]]:  # noqa: UP006, UP045
    """Consecutive job numbers grouped into batches of at most ``limit`` (None: no limit)."""
    batches: List[List[int]] = []  # noqa: UP006
    for index in indices:
        if batches and batches[-1][-1] == index - 1 and (limit in (None, -1) or len(batches[-1]) < limit):
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


class GanlabSweeper(BasicSweeper):
    def job_dir(self, index: int, overrides: List[str]) -> Tuple[Path, Any]:  # noqa: UP006
        """The folder Hydra's launchers give job ``index`` (its config composed as a launcher does), and the config."""
        config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(config):
            config.hydra.job.num = index
            config.hydra.job.id = index
        return Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir), config

    def sweep(self, arguments: List[str]) -> Any:  # noqa: UP006
        from ganlab.common.run_state import FINISHED, run_state

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        jobs = self.split_arguments(parser.parse_overrides([*self._parse_config(), *arguments]), None)[0]
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        todo, states = [], {}
        for index, overrides in enumerate(jobs):
            if not sweep_dir.is_dir():  # a new sweep: every job is to run, no folder to look at (nor to compose)
                states[index] = "new"
            else:
                folder, config = self.job_dir(index, overrides)
                states[index] = run_state(folder, OmegaConf.select(config, "model.max_iterations", default=None))
            if states[index] != FINISHED:
                todo.append(index)
        resumed = any(state != "new" for state in states.values())
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if not (sweep_dir / "multirun.yaml").is_file():
            OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        if resumed:
            counts = {s: sum(v == s for v in states.values()) for s in ("finished", "interrupted", "failed", "new")}
            print(
                f"[ganlab] sweep {sweep_dir}: {len(jobs)} jobs; {counts['finished']} finished (skipped), "
                f"{counts['interrupted']} interrupted (resumed), {counts['failed']} failed (rerun), "
                f"{counts['new']} not started (run)",
                flush=True,
            )
        returns = []
        for batch in runs(todo, self.max_batch_size):
            overrides = [jobs[i] for i in batch]
            self.validate_batch_is_legal(overrides)
            results = self.launcher.launch(overrides, initial_job_idx=batch[0])
            for result in results:
                value = result.return_value  # a crashed job raises here, as in Hydra's basic sweeper
                if isinstance(value, dict) and value.get("failed"):
                    note_failure(value["run_dir"], value["failed"])
            returns.append(results)
        return returns


def note_failure(run_dir: str, message: str) -> None:
    """A job that failed (in this process or a launcher's) joins ganlab-train's list of failed jobs, once."""
    from ganlab.cli.train import FAILED_JOBS

    if all(known != run_dir for known, _ in FAILED_JOBS):
        FAILED_JOBS.append((run_dir, message))
