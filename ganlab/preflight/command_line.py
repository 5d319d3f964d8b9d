"""The compose-time validation behind ``ganlab-train`` (schemas: ``ganlab/composition/schemas.py``).

Every bad input must end in *one* line naming the key, the bad value and the accepted values, a
non-zero exit, and no run directory: ``preflight`` composes the configuration (every combination
of a multirun sweep) before Hydra creates anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

import ganlab.composition.loggers  # noqa: F401  (registers the ganlab.wandb_* resolvers)
import ganlab.composition.resolvers  # noqa: F401  (registers run_stamp, path_safe, mul)
import ganlab.composition.schemas  # noqa: F401  (registers the structured-config schemas)
from ganlab.common.errors import CONF_DIR, PRIMARY, ConfigError, one_line
from ganlab.preflight.checks import validate
from ganlab.preflight.extras import check_extras
from ganlab.preflight.key_messages import check_additions, option_without_place_message, unknown_key_message
from ganlab.preflight.run_dir import claim_run_dir
from ganlab.preflight.sweep_rules import (
    MAX_SWEEP_CHECKS,
    SweepJob,
    check_search_space,
    check_sweep_folder,
    has_interval,
    is_search,
    task_jobs,
)

# --------------------------------------------------------------------------- command line
#: The course report's flags (ex2.py) mapped to Hydra overrides.
ALIASES = {
    "-k": "model.unroll_steps",
    "-ds": "model.d_steps",
    "-gs": "model.g_steps",
    "-l": "loss",
    "-z": "model.latent_dim",
    "-b": "data.batch_size",
}
#: Hydra flags after which preflight is skipped (they print, they do not run).
PASSTHROUGH_FLAGS = {
    "--help",
    "-h",
    "--hydra-help",
    "--cfg",
    "-c",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
    "--version",
}
FLAGS_WITH_VALUE = {
    "--config-name",
    "-cn",
    "--config-path",
    "-cp",
    "--config-dir",
    "-cd",
    "--package",
    "-p",
    "--cfg",
    "-c",
    "--experimental-rerun",
}


def translate_aliases(argv: Sequence[str]) -> list[str]:
    """``-k 4`` / ``-k=4`` → ``model.unroll_steps=4`` (and the other report flags)."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        flag, _, inline = arg.partition("=")
        if flag in ALIASES:
            if inline:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise ConfigError(f"{flag} needs a value (it sets {ALIASES[flag]})")
            out.append(f"{ALIASES[flag]}={value}")
        else:
            out.append(arg)
        i += 1
    return out


@dataclass
class ParsedArgs:
    overrides: list[str]
    config_name: str = PRIMARY
    passthrough: bool = False
    multirun: bool = False
    config_dir: str | None = None  # --config-dir: a user's config folder beside ganlab's

    def search_path(self) -> list[str]:
        """The overrides that give the preflight's compose the config folders Hydra will search: ``--config-dir``
        as a ``hydra.searchpath`` entry, added to one the command line sets (both are Hydra's ways)."""
        given = next((o for o in self.overrides if o.startswith("hydra.searchpath=")), None)
        if self.config_dir is None:
            return [given] if given else []
        folder = Path(self.config_dir).expanduser().resolve()
        if not folder.is_dir():
            raise ConfigError(f"--config-dir {self.config_dir} is not a folder; accepted: a folder of config groups")
        entries = [f"file://{folder}"]
        if given:
            entries = [*OverridesParser.create().parse_override(given).value(), *entries]
        return ["hydra.searchpath=[" + ",".join(entries) + "]"]


def split_argv(argv: Sequence[str]) -> ParsedArgs:
    parsed, it = ParsedArgs([]), iter(argv)
    for arg in it:
        flag = arg.split("=", 1)[0]
        if flag in PASSTHROUGH_FLAGS:
            parsed.passthrough = True
        if flag in ("-m", "--multirun"):
            parsed.multirun = True
        elif flag in FLAGS_WITH_VALUE:
            value = arg.split("=", 1)[1] if "=" in arg else next(it, "")
            if flag in ("--config-name", "-cn"):
                parsed.config_name = value
            elif flag in ("--config-dir", "-cd"):
                parsed.config_dir = value
        elif not arg.startswith("-"):
            parsed.overrides.append(arg)
    return parsed


def _group_options(loader, group: str, search_path: list[str] | None = None) -> list[str]:
    return sorted(loader.get_group_options(group, config_name=PRIMARY, overrides=search_path or []))


def check_group_choices(overrides, loader, search_path: list[str] | None = None) -> None:
    """Every group choice names an option of ganlab's config tree or of a user's folder on the search path."""
    for ov in overrides:
        group = ov.key_or_group
        if group.startswith("hydra/") or ov.is_delete() or not loader.repository.group_exists(group):
            continue
        values = list(ov.sweep_string_iterator()) if ov.is_sweep_override() else [ov.value()]
        options = _group_options(loader, group, search_path)
        for value in values:
            if isinstance(value, str) and value not in options:
                raise ConfigError(f"{group}={value} is not a known {group}; accepted: {', '.join(options)}")


def sweep_jobs(overrides) -> list[tuple[int, list[str], list[str]]]:
    """(job number, task overrides, the overrides to compose it with) of each job of a multirun, numbered and
    spelled as ganlab's sweeper (Hydra's basic product) launches them; capped at ``MAX_SWEEP_CHECKS``."""
    hydra_part = [ov.input_line for ov in overrides if ov.is_hydra_override()]
    jobs = task_jobs([ov for ov in overrides if not ov.is_hydra_override()])
    return [(num, job, [*hydra_part, *job]) for num, job in enumerate(jobs[:MAX_SWEEP_CHECKS])]


def _launcher_choice(hydra_cfg: DictConfig) -> tuple[str, int | None]:
    """(hydra/launcher choice, hydra.launcher.tasks_per_node or None) of one composed job's ``hydra`` node."""
    launcher = OmegaConf.select(hydra_cfg, "runtime.choices", default={}).get("hydra/launcher", "basic")
    return launcher, OmegaConf.select(hydra_cfg, "launcher.tasks_per_node", default=None)


@dataclass
class Job:
    """One composed job: its config (without the ``hydra`` node), run directory and launcher choice. One
    composition with ``return_hydra_config=True`` gives all three (composing costs about 0.2 s)."""

    cfg: DictConfig
    run_dir: str | None
    launcher: tuple[str, int | None]

    @classmethod
    def of(cls, full: DictConfig, multirun: bool) -> Job:
        run_dir = None if multirun else str(full.hydra.run.dir)  # resolved while the hydra node is attached
        launcher = _launcher_choice(full.hydra)
        with open_dict(full):
            del full["hydra"]
        return cls(full, run_dir, launcher)


def compose_checked(args: ParsedArgs, combo: list[str], compose, context: str = "") -> tuple[DictConfig, Job]:
    """One job composed (its full config, ``hydra`` included, and the ``Job``) and checked: settings, extras, nets
    against the data. ConfigError naming the first problem, ``context`` appended (e.g. the search-space values)."""
    from ganlab.composition.fit import check_networks_fit_data

    try:
        full = compose(args.config_name, overrides=combo, return_hydra_config=True)
        job = Job.of(full.copy(), args.multirun)
    except Exception as exc:
        message = unknown_key_message(args.config_name, combo, exc) or option_without_place_message(exc)
        raise ConfigError(f"{message or one_line(exc)}{context}") from None
    try:
        validate(job.cfg)
        check_extras(job.cfg, job.launcher[0])
        check_networks_fit_data(job.cfg)
    except ConfigError as exc:
        raise ConfigError(f"{exc}{context}") from None
    return full, job


def preflight(argv: Sequence[str]) -> list[str]:
    """Validate the command line; return it with report aliases translated. Raises ConfigError."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganlab.preflight.ddp_rules import check_ddp_multirun

    argv = translate_aliases(argv)
    args = split_argv(argv)
    if args.passthrough:
        return argv
    try:
        overrides = OverridesParser.create().parse_overrides(args.overrides)
    except Exception as exc:  # hydra's grammar errors
        raise ConfigError(one_line(exc)) from None
    search_path = args.search_path()
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        check_group_choices(overrides, GlobalHydra.instance().config_loader(), search_path)
        jobs = sweep_jobs(overrides) if args.multirun else [(0, args.overrides, args.overrides)]
        swept, cfgs = [], {}
        for num, task, combo in jobs:
            combo = [o for o in combo if not o.startswith("hydra.searchpath=")] + search_path
            full, job = compose_checked(args, combo, compose)
            if num == 0:  # the + additions are the same keys in every job: checked once
                check_additions(combo, lambda o, c=combo: compose(args.config_name, overrides=[x for x in c if x != o]))
            swept.append(SweepJob(num, task, full))
            cfgs[num] = job.cfg
            if args.multirun:
                check_ddp_multirun(job.cfg, True, *job.launcher)
        if args.multirun and is_search(swept[0].full):
            base = [o for o in args.overrides if not o.startswith("hydra.searchpath=")] + search_path
            check_search_space(swept[0].full, base, lambda combo, why: compose_checked(args, combo, compose, why))
        elif args.multirun and has_interval(overrides):
            raise ConfigError(
                "interval(…) is drawn by a search sweeper; accepted: hydra/sweeper=ring_search or hydra/sweeper=optuna "
                "(pip install 'ganlab[search]'), or a list of values (a=1,2,3)"
            )
        elif args.multirun and args.config_name == PRIMARY:
            check_sweep_folder(swept, cfgs)
        if not args.multirun and args.config_name == PRIMARY:
            claim_run_dir(job.cfg, job.run_dir)
    GlobalHydra.instance().clear()
    return argv
