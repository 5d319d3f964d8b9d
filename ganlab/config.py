"""The compose-time validation behind ``ganlab-train`` (schemas: ``ganlab/schemas.py``).

Every bad input must end in *one* line naming the key, the bad value and the accepted values, a
non-zero exit, and no run directory: ``preflight`` composes the configuration (every combination
of a multirun sweep) before Hydra creates anything.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

import ganlab.loggers  # noqa: F401  (registers the ganlab.wandb_* resolvers)
import ganlab.schemas  # noqa: F401  (registers the structured-config schemas)
from ganlab.errors import CONF_DIR, PRIMARY, ConfigError, one_line  # noqa: F401  (re-exported)
from ganlab.options import UnrollMode, Update
from ganlab.runtime import slurm_job_id  # noqa: F401  (re-exported)

MAX_SWEEP_CHECKS = 256


def run_stamp() -> str:
    """The last part of a single run's directory: ``slurm-<job id>`` inside a Slurm job (a requeued job gets
    its directory, hence its checkpoint, back), else the start time."""
    from datetime import datetime

    job = slurm_job_id()
    return f"slurm-{job}" if job else datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")


def path_safe(text: str) -> str:
    """A job's override string as one directory name (group overrides such as ``callbacks/metrics=x`` have '/')."""
    return str(text).replace("/", ".")


OmegaConf.register_new_resolver("ganlab.run_stamp", run_stamp, use_cache=True, replace=True)
OmegaConf.register_new_resolver("ganlab.path_safe", path_safe, replace=True)
#: ``${ganlab.mul:100,${model.discriminator.pack}}``: a product of integers (PacGAN's batch of 100 packs of m samples).
OmegaConf.register_new_resolver("ganlab.mul", lambda *factors: math.prod(int(f) for f in factors), replace=True)


@dataclass(frozen=True)
class Rule:
    key: str
    check: Callable[[Any], bool]
    accepted: str


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


#: Bounds on settings that would otherwise hang a run or do nothing (an iteration has d_steps + g_steps · (1 +
#: unroll_steps) D/G updates: 100 look-ahead steps already cost 100 forward/backward passes of D per G step).
MAX_STEPS_PER_ITERATION = 100


def _int_in(low: int, high: float = math.inf) -> Callable[[Any], bool]:
    return lambda v: _is_int(v) and low <= v <= high


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _pair_in_unit(v) -> bool:
    return isinstance(v, Sequence) and len(v) == 2 and all(_number(b) and 0.0 <= b < 1.0 for b in v)


STEPS = f"an integer in [1, {MAX_STEPS_PER_ITERATION}]"
_POSITIVE = "null or a number > 0"
_POSITIVE_INT = "null or an integer >= 1"
RULES: Sequence[Rule] = (
    Rule("seed", _int_in(0, 2**32 - 1), "an integer in [0, 2**32 - 1]"),
    Rule("model.d_steps", _int_in(1, MAX_STEPS_PER_ITERATION), STEPS),
    Rule("model.g_steps", _int_in(1, MAX_STEPS_PER_ITERATION), STEPS),
    Rule("model.unroll_steps", _int_in(0, MAX_STEPS_PER_ITERATION), f"an integer in [0, {MAX_STEPS_PER_ITERATION}]"),
    Rule("model.latent_dim", _int_in(1), "an integer >= 1"),
    Rule("model.real_label", lambda v: _number(v) and 0.0 < v <= 1.0, "a number in (0, 1]"),
    Rule("model.max_iterations", lambda v: v is None or (_is_int(v) and v >= 1), "null or an integer >= 1"),
    Rule("model.log_every_n_iterations", lambda v: v is None or (_is_int(v) and v >= 1), "null or an integer >= 1"),
    Rule("model.scheduler_interval", lambda v: v in ("iteration", "epoch"), "iteration, epoch"),
    Rule("model.grad_clip_g", lambda v: v is None or (_number(v) and v > 0), "null or a number > 0"),
    Rule("model.grad_clip_d", lambda v: v is None or (_number(v) and v > 0), "null or a number > 0"),
    Rule("model.k_init", lambda v: _number(v) and 0.0 <= v <= 1.0, "a number in [0, 1]"),
    Rule("model.lr_plateau_window", lambda v: v is None or (_is_int(v) and v >= 1), "null or an integer >= 1"),
    Rule("model.lr_plateau_patience", _int_in(0), "an integer >= 0"),
    Rule("model.lr_plateau_factor", lambda v: _number(v) and 0.0 < v < 1.0, "a number in (0, 1)"),
    Rule(
        "model.*.hidden",
        lambda v: _int_in(1)(v) or (isinstance(v, Sequence) and len(v) > 0 and all(_int_in(1)(h) for h in v)),
        "integers >= 1 (one width, or one per layer)",
    ),
    Rule("model.*.pack", _int_in(1), "an integer >= 1"),
    Rule("loss.gamma", lambda v: _number(v) and 0.0 < v <= 1.0, "a number in (0, 1]"),
    Rule("loss.lambda_k", lambda v: _number(v) and v >= 0.0, "a number >= 0"),
    Rule("model.latent_prior", lambda v: v in ("normal", "uniform"), "normal, uniform"),
    Rule("model.z_pooling", lambda v: v in ("pooled", "per_dimension"), "pooled, per_dimension"),
    Rule("data.batch_size", _int_in(1), "an integer >= 1"),
    Rule("data.iterations_per_epoch", _int_in(1), "an integer >= 1"),
    Rule("data.pool_size", _int_in(1), "an integer >= 1"),
    Rule("data.num_workers", _int_in(0), "an integer >= 0"),
    Rule("optim.*.lr", lambda v: _number(v) and v > 0, "a number > 0"),
    Rule("optim.*.betas", _pair_in_unit, "two numbers in [0, 1), e.g. [0.5, 0.999]"),
    Rule("optim.*.eps", lambda v: _number(v) and v > 0, "a number > 0"),
    Rule("optim.*.weight_decay", lambda v: _number(v) and v >= 0, "a number >= 0"),
    Rule("optim.*.momentum", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    Rule("trainer.max_epochs", lambda v: v is None or (_is_int(v) and v >= -1), "null, -1 or an integer >= 1"),
    Rule("trainer.max_steps", _int_in(-1, -1), "-1 (ganlab counts iterations: model.max_iterations)"),
    Rule("trainer.log_every_n_steps", _int_in(1), "an integer >= 1"),
    Rule("trainer.num_nodes", _int_in(1), "an integer >= 1"),
    Rule("trainer.accelerator", lambda v: v in ("cpu", "gpu", "cuda", "auto"), "cpu, gpu, cuda, auto"),
    Rule("callbacks.*.n_samples", _int_in(2), "an integer >= 2"),
    # the run's guards, checked here too so a mistake in them is answered before Lightning is imported
    Rule("callbacks.divergence.policy", lambda v: v in ("stop", "skip", "warn"), "stop, skip, warn"),
    Rule("callbacks.last_checkpoint.every_n_minutes", lambda v: v is None or (_number(v) and v > 0), _POSITIVE),
    Rule("callbacks.last_checkpoint.every_n_iterations", lambda v: v is None or _int_in(1)(v), _POSITIVE_INT),
    Rule("callbacks.last_checkpoint.grace_seconds", lambda v: _number(v) and v >= 0, "a number >= 0"),
)


def _rule_keys(cfg: DictConfig, key: str) -> list[str]:
    """``key`` itself, or with its ``*`` expanded over the children of the node before it."""
    if "*" not in key:
        return [key]
    head, tail = key.split(".*.", 1)
    node = OmegaConf.select(cfg, head, default=None, throw_on_missing=False)
    return [f"{head}.{child}.{tail}" for child in node] if isinstance(node, DictConfig) else []


def check_rules(cfg: DictConfig, rules: Sequence[Rule], prefix: str = "") -> None:
    """ConfigError naming the first key whose value breaks its rule (keys absent from ``cfg`` are skipped)."""
    for rule in rules:
        for key in _rule_keys(cfg, rule.key):
            parent_key, leaf = key.rsplit(".", 1) if "." in key else ("", key)
            parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
            if not isinstance(parent, DictConfig) or leaf not in parent:
                continue
            value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
            value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
            try:
                ok = rule.check(value)
            except (TypeError, ValueError):  # e.g. a string where a number belongs
                ok = False
            if not ok:
                raise ConfigError(f"{prefix}{key}={value!r} is invalid; accepted: {rule.accepted}")


def validate(cfg: DictConfig) -> None:
    """Range checks that types alone cannot express, cross-key checks, then a dry build of what the run builds
    first (optimizers, schedulers, callbacks): every mistake surfaces here, before Hydra writes anything."""
    check_rules(cfg, RULES)
    _check_model_fits_loss(cfg)
    _check_simultaneous_steps(cfg)
    _check_sync_batchnorm(cfg)
    _check_accelerator(cfg)
    _check_pack_divides_batch(cfg)
    if cfg.get("model") is not None and "unroll_steps" in cfg.model:
        _check_optimizer_for_unrolling(cfg)
    _dry_build(cfg)
    check_resume(cfg)


def _check_accelerator(cfg: DictConfig) -> None:
    accelerator = OmegaConf.select(cfg, "trainer.accelerator", default=None)
    if accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"trainer.accelerator={accelerator}: no CUDA GPU is visible on this machine "
                "(torch.cuda.is_available() is False); accepted: trainer=cpu or trainer=ddp_cpu here"
            )


def _check_pack_divides_batch(cfg: DictConfig) -> None:
    """PacGAN packs m samples per D input: a batch that m does not divide would drop samples every step."""
    pack = OmegaConf.select(cfg, "model.discriminator.pack", default=1) or 1
    batch = OmegaConf.select(cfg, "data.batch_size", default=None)
    if _is_int(pack) and _is_int(batch) and pack > 1 and batch % pack:
        raise ConfigError(
            f"model.discriminator.pack={pack} does not divide data.batch_size={batch} ({batch % pack} samples "
            f"of every batch would be dropped); accepted: a batch size that is a multiple of {pack}"
        )


def _dry_build(cfg: DictConfig) -> None:
    """Instantiate the optimizers (on a dummy parameter), their schedulers and the callbacks: their own checks
    (torch's "Invalid learning rate", a callback's setting) become one-line errors naming the key."""
    import torch
    from hydra.utils import instantiate

    dummy = [torch.nn.Parameter(torch.zeros(1))]
    optim = cfg.get("optim") or {}
    owner = None
    for key in sorted(optim, key=lambda k: "scheduler" in str(k)):  # optimizers first, then schedulers
        node = optim[key]
        if node is None:
            continue
        with _as_config_error(f"optim.{key}"):
            factory = instantiate(node)
            if not callable(factory):
                continue
            if "scheduler" not in str(key):
                owner = factory(dummy)
            elif isinstance(owner, torch.optim.Optimizer):
                factory(owner)
    for key, node in (cfg.get("callbacks") or {}).items():
        if isinstance(node, DictConfig) and "_target_" in node:
            with _as_config_error(f"callbacks.{key}"):
                instantiate(node, **_placeholder_paths(node))


def _placeholder_paths(node: DictConfig) -> dict:
    """Arguments that need Hydra's run time (``${paths.run_dir}``): a placeholder (constructors don't write)."""
    out = {}
    for name in node:
        try:
            OmegaConf.select(node, str(name), throw_on_resolution_failure=True)
        except Exception:
            out[str(name)] = "."
    return out


class _as_config_error:
    """ValueError / TypeError of a constructor → ConfigError naming the config key."""

    def __init__(self, key: str):
        self.key = key

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None:
            return False
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, ConfigError):
            raise cause from None
        if isinstance(cause, ValueError | TypeError):
            message = one_line(cause)[:300]
            accepted = "" if "accepted" in message else f"; accepted: the values {self.key}'s constructor takes"
            raise ConfigError(f"{self.key}: {message}{accepted}") from None
        return False  # anything else (a missing file …) is the real run's to report


def check_resume(cfg: DictConfig) -> None:
    """``ckpt_path`` (``last`` or a path) names a readable checkpoint of this very architecture, trained with these
    settings (``resume_rules``)."""
    if cfg.get("ckpt_path") is None:
        return
    import torch

    from ganlab.checkpoints import check_fits, read_checkpoint, resolve_resume
    from ganlab.compose import build_module, experiment_dir
    from ganlab.resume_rules import check_config_change

    path = resolve_resume(cfg.ckpt_path, experiment_dir(cfg))
    checkpoint = read_checkpoint(path)
    if cfg.get("model") is not None:  # another architecture first: the more telling message
        with torch.device("meta"):
            module = build_module(cfg, record_config=False)
        check_fits(checkpoint, module, "ckpt_path", cfg.ckpt_path)
    check_config_change((checkpoint.get("ganlab") or {}).get("config"), cfg, f"ckpt_path={cfg.ckpt_path}")


def _choice(cfg: DictConfig, key: str, options: type[Enum]) -> Enum | None:
    """The member of ``options`` that ``key`` holds (the schema gives an enum, a plain config a string)."""
    value = OmegaConf.select(cfg, key, default=None)
    try:
        return options(value.value if isinstance(value, Enum) else value)
    except ValueError:
        return None


def _check_model_fits_loss(cfg: DictConfig) -> None:
    """BEGAN's autoencoder D and L1 losses only make sense together."""
    model, loss = cfg.get("model"), cfg.get("loss")
    if model is None or loss is None:
        return
    began_model = str(model.get("_target_", "")).endswith("BEGANModule")
    began_loss = str(loss.get("_target_", "")).endswith("BEGANLoss")
    if began_model and not began_loss:
        raise ConfigError(f"loss={loss.get('name', '?')} does not fit model=began; accepted: loss=began")
    if began_loss and not began_model:
        raise ConfigError("loss=began needs BEGAN's autoencoder discriminator; accepted: model=began")


def _check_simultaneous_steps(cfg: DictConfig) -> None:
    """Simultaneous updates take one gradient per player at one point: no n_d / n_g step loops."""
    if _choice(cfg, "model.update_rule", Update) is Update.simultaneous:
        steps = (OmegaConf.select(cfg, "model.d_steps", default=1), OmegaConf.select(cfg, "model.g_steps", default=1))
        if steps != (1, 1):
            raise ConfigError(
                f"model.update_rule=simultaneous takes one step per player, got model.d_steps={steps[0]} "
                f"model.g_steps={steps[1]}; accepted: d_steps=1 g_steps=1, or model.update_rule=alternating"
            )


def _check_sync_batchnorm(cfg: DictConfig) -> None:
    """SyncBatchNorm has no double backward: gradient penalties and second-order unrolling need one."""
    if not OmegaConf.select(cfg, "trainer.sync_batchnorm", default=False):
        return
    penalty = OmegaConf.select(cfg, "loss.penalty", default=None)
    unrolled = OmegaConf.select(cfg, "model.unroll_steps", default=0)
    second_order = unrolled and _choice(cfg, "model.unroll_mode", UnrollMode) is UnrollMode.second_order
    if penalty is not None or second_order:
        needs = f"loss={cfg.loss.get('name', '?')}" if penalty is not None else "model.unroll_mode=second_order"
        raise ConfigError(
            f"trainer.sync_batchnorm=true cannot be used with {needs} (SyncBatchNorm has no double backward); "
            "accepted: trainer.sync_batchnorm=false, or a discriminator without BatchNorm"
        )


def _check_optimizer_for_unrolling(cfg: DictConfig) -> None:
    from ganlab.unroll import SUPPORTED

    target = str(OmegaConf.select(cfg, "optim.discriminator._target_", default=""))
    if cfg.model.unroll_steps > 0 and target and target.rsplit(".", 1)[-1] not in SUPPORTED:
        raise ConfigError(
            f"optim.discriminator._target_={target} cannot be unrolled; accepted: "
            + ", ".join(f"torch.optim.{name}" for name in SUPPORTED)
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
        elif not arg.startswith("-"):
            parsed.overrides.append(arg)
    return parsed


def _group_options(loader, group: str) -> list[str]:
    return sorted(loader.get_group_options(group))


def check_group_choices(overrides, loader) -> None:
    for ov in overrides:
        group = ov.key_or_group
        if group.startswith("hydra/") or ov.is_delete() or not loader.repository.group_exists(group):
            continue
        values = list(ov.sweep_string_iterator()) if ov.is_sweep_override() else [ov.value()]
        options = _group_options(loader, group)
        for value in values:
            if isinstance(value, str) and value not in options:
                raise ConfigError(f"{group}={value} is not a known {group}; accepted: {', '.join(options)}")


def sweep_combinations(overrides) -> list[list[str]]:
    """The override lists of a basic-sweeper multirun (cartesian product), capped."""
    axes = []
    for ov in overrides:
        key = ov.get_key_element()
        if ov.is_sweep_override() and not ov.is_delete():
            axes.append([f"{key}={v}" for v in ov.sweep_string_iterator()])
        else:
            axes.append([ov.input_line])
    return [list(c) for c in itertools.islice(itertools.product(*axes), MAX_SWEEP_CHECKS)]


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
    return f"{key}={value}: unknown key '{leaf}' in {where}; accepted: {accepted} (prefix with + to add a new key)"


def _launcher_choice(config_name: str, combo: list[str]) -> tuple[str, int | None]:
    """(hydra/launcher choice, hydra.launcher.tasks_per_node or None) of one composed job."""
    from hydra import compose

    hydra_cfg = compose(config_name, overrides=combo, return_hydra_config=True).hydra
    launcher = OmegaConf.select(hydra_cfg, "runtime.choices", default={}).get("hydra/launcher", "basic")
    return launcher, OmegaConf.select(hydra_cfg, "launcher.tasks_per_node", default=None)


def preflight(argv: Sequence[str]) -> list[str]:
    """Validate the command line; return it with report aliases translated. Raises ConfigError."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganlab.ddp_rules import check_ddp_multirun
    from ganlab.fit_checks import check_networks_fit_data

    argv = translate_aliases(argv)
    args = split_argv(argv)
    if args.passthrough:
        return argv
    try:
        overrides = OverridesParser.create().parse_overrides(args.overrides)
    except Exception as exc:  # hydra's grammar errors
        raise ConfigError(one_line(exc)) from None
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        check_group_choices(overrides, GlobalHydra.instance().config_loader())
        combos = sweep_combinations(overrides) if args.multirun else [args.overrides]
        for combo in combos:
            try:
                cfg = compose(args.config_name, overrides=combo)
            except Exception as exc:
                raise ConfigError(_unknown_key_message(args.config_name, combo, exc) or one_line(exc)) from None
            validate(cfg)
            check_networks_fit_data(cfg)
            if args.multirun:
                check_ddp_multirun(cfg, True, *_launcher_choice(args.config_name, combo))
        if not args.multirun and args.config_name == PRIMARY:
            run_dir = compose(args.config_name, overrides=combos[0], return_hydra_config=True).hydra.run.dir
            claim_run_dir(cfg, run_dir)
    GlobalHydra.instance().clear()
    return argv


def claim_run_dir(cfg: DictConfig, run_dir) -> None:
    """Before Hydra writes anything into a single run's directory: refuse one a live run holds, or one holding a
    run with other settings (a resume changes only what ``resume_rules.MAY_CHANGE`` lists); then hold its lock
    for the life of this process."""
    from pathlib import Path

    from ganlab.resume_rules import check_config_change
    from ganlab.runtime import RunDirBusy, hold_run_dir, is_busy, secondary_rank

    run_dir = Path(str(run_dir))
    # a DDP rank > 0 (rank 0 holds the folder), or a new folder (``train.run`` locks it once Hydra made it)
    if secondary_rank() or not run_dir.is_dir():
        return
    busy = is_busy(run_dir)
    if busy:
        raise ConfigError(
            f"hydra.run.dir={run_dir} is in use by a live run ({busy}); accepted: another run directory, "
            "or the same one once that run has ended"
        )
    check_config_change(saved_run_config(run_dir, cfg.get("auto_resume", True)), cfg, f"hydra.run.dir={run_dir}")
    try:
        hold_run_dir(run_dir)
    except RunDirBusy as exc:  # taken between the check and here
        raise ConfigError(f"hydra.run.dir={exc}; accepted: another run directory") from None


def saved_run_config(run_dir, auto_resume: bool = True) -> dict | None:
    """The settings a run directory's run was trained with: its checkpoint's (when it resumes from it), else
    its ``.hydra/config.yaml``; None for an empty directory."""
    from pathlib import Path

    from ganlab.checkpoints import LAST_FILE, read_checkpoint, resolve_resume

    run_dir = Path(run_dir)
    if auto_resume and (run_dir / LAST_FILE).parent.is_dir():
        path = resolve_resume(None, run_dir.parent, run_dir, auto_resume)
        if path is not None:
            return (read_checkpoint(path).get("ganlab") or {}).get("config")
    saved = run_dir / ".hydra" / "config.yaml"
    if saved.is_file():
        from ganlab.resume_rules import plain

        return plain(OmegaConf.load(saved))
    return None
