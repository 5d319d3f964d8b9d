"""The compose-time validation behind ``ganlab-train`` (schemas: ``ganlab/composition/schemas.py``).

Every bad input must end in *one* line naming the key, the bad value and the accepted values, a
non-zero exit, and no run directory: ``preflight`` composes the configuration (every combination
of a multirun sweep) before Hydra creates anything.
"""

from __future__ import annotations

import re
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
from ganlab.preflight.run_dir import claim_run_dir
from ganlab.preflight.sweep_rules import (
    SweepJob,
    check_sweep_folder,
    has_interval,
    is_search,
    search_values,
    task_jobs,
)

MAX_SWEEP_CHECKS = 256


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


def _unknown_key_message(config_name: str, combo: list[str], exc: Exception) -> str | None:
    """For ``model.foo=1``: name the key, the value and the keys that ``model`` accepts."""
    from hydra import compose

    match = re.search(r"Could not override '([^']+)'", str(exc))
    if not match:
        return None
    key = match.group(1)
    bad = [o for o in combo if o.split("=", 1)[0].lstrip("+~") == key]
    try:
        base = compose(config_name, overrides=[o for o in combo if o not in bad])
    except Exception:
        return None
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(base, parent_key) if parent_key else base
    if not isinstance(parent, DictConfig):
        return None
    value = bad[0].split("=", 1)[1] if bad else "?"
    accepted = ", ".join(sorted(str(k) for k in parent))
    where = f"'{parent_key}'" if parent_key else "the top level"
    guess = did_you_mean(leaf, [str(k) for k in parent])
    return (f"{key}={value}: unknown key '{leaf}' in {where}{guess}; accepted: {accepted} "
            "(prefix with + to add a new key)")  # fmt: skip


def did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to a mistyped ``name``, else ""."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_additions(combo: list[str], compose_without) -> None:
    """A ``+key=value`` whose new name is nearly that of an existing sibling (``+optim.generater.lr`` beside
    ``optim.generator``) is a typo, not an addition: refused with the key it meant, before a run folder exists
    (``++key=value`` adds it anyway). ``compose_without(override)``: the config without that override."""
    for override in combo:
        if not override.startswith("+") or override.startswith("++") or "=" not in override:
            continue
        key = override[1:].split("=", 1)[0]
        if "/" in key or "." not in key:  # a group added (+loss/penalty=r1): Hydra checks the option
            continue
        node, parts = compose_without(override), key.split(".")
        for depth, part in enumerate(parts):
            if not isinstance(node, DictConfig):
                break
            if part not in node:  # the first new name on the path
                siblings = sorted(str(k) for k in node)
                guess = did_you_mean(part, siblings)
                if guess:
                    where = ".".join(parts[:depth]) or "the top level"
                    raise ConfigError(
                        f"{override}: a new key '{part}' in {where}{guess}; accepted: one of "
                        f"{', '.join(siblings)}, or ++ to add it anyway"
                    )
                break
            node = node[part]


def _option_without_place_message(exc: Exception) -> str | None:
    """For ``loss=began +loss/penalty=r1``: a group option whose keys the chosen schema does not have (BEGAN's loss
    takes no penalties and no augmentation)."""
    match = re.search(r"In '(\w+)/(\w+)/(\w+)'.*Key '(\w+)' not in '(\w+)'", one_line(exc))
    if not match:
        return None
    parent, group, option, key, schema = match.groups()
    example = {"loss": " (e.g. loss=non_saturating, loss=hinge)", "model": " (e.g. model=gan_dcgan)"}.get(parent, "")
    return (
        f"{parent}/{group}={option} cannot be added here: the chosen {parent} ({schema}) has no '{key}'; "
        f"accepted: a {parent} with '{key}'{example}, or no {parent}/{group}"
    )


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


def check_search_space(args: ParsedArgs, full: DictConfig, search_path: list[str], compose) -> None:
    """A search sweeper's space: every setting the preflight can know before the sampler draws (each choice, each
    interval's ends, with the command's own overrides) composed and checked; one line says what stays unchecked."""
    import itertools

    axes, partial = search_values(OmegaConf.select(full, "hydra.sweeper.params", default=None))
    base = [o for o in args.overrides if not o.startswith("hydra.searchpath=")] + search_path
    combos = list(itertools.islice(itertools.product(*axes), MAX_SWEEP_CHECKS))
    for values in combos:
        combo = [*base, *values]
        try:
            job = Job.of(compose(args.config_name, overrides=combo, return_hydra_config=True), True)
        except Exception as exc:
            message = _unknown_key_message(args.config_name, combo, exc) or _option_without_place_message(exc)
            raise ConfigError(f"{message or one_line(exc)} (in the search space: {' '.join(values)})") from None
        try:
            validate(job.cfg)
            from ganlab.composition.fit import check_networks_fit_data

            check_networks_fit_data(job.cfg)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (in the search space: {' '.join(values)})") from None
    inside = "; values inside an interval are drawn per trial and checked when it starts" if partial else ""
    print(f"[ganlab] search: {len(combos)} settings of the space checked (every choice, each interval's ends){inside}",
          flush=True)  # fmt: skip


def preflight(argv: Sequence[str]) -> list[str]:
    """Validate the command line; return it with report aliases translated. Raises ConfigError."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganlab.composition.fit import check_networks_fit_data
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
            try:
                full = compose(args.config_name, overrides=combo, return_hydra_config=True)
                if args.multirun:
                    swept.append(SweepJob(num, task, full.copy()))
                job = Job.of(full, args.multirun)
            except Exception as exc:
                message = _unknown_key_message(args.config_name, combo, exc) or _option_without_place_message(exc)
                raise ConfigError(message or one_line(exc)) from None
            check_additions(combo, lambda o, c=combo: compose(args.config_name, overrides=[x for x in c if x != o]))
            validate(job.cfg)
            check_extras(job.cfg, job.launcher[0])
            check_networks_fit_data(job.cfg)
            cfgs[num] = job.cfg
            if args.multirun:
                check_ddp_multirun(job.cfg, True, *job.launcher)
        if args.multirun and swept and is_search(swept[0].full):
            check_search_space(args, swept[0].full, search_path, compose)
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
