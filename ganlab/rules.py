"""Preflight: per-key rules (a key, a check, the accepted values) and the checker that turns the first broken
one into a one-line ``ConfigError``. The validators here are shared by every entry point's rule table.
Imports OmegaConf and the leaves only: checking a rule never loads torch or Lightning."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganlab.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    key: str
    check: Callable[[Any], bool]
    accepted: str


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def number_in(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Callable[[Any], bool]:
    """A number (not a bool, not NaN; ±inf allowed within the bounds) in the interval."""

    def check(v) -> bool:
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
            return False
        return (v > low if low_open else v >= low) and (v < high if high_open else v <= high)

    return check


def one_of(*values) -> Callable[[Any], bool]:
    return lambda v: v in values


def subset_of(*values) -> Callable[[Any], bool]:
    """A non-empty list of ``values``."""
    return lambda v: isinstance(v, list) and len(v) > 0 and all(x in values for x in v)


#: Bounds on settings that would otherwise hang a run or do nothing (an iteration has d_steps + g_steps · (1 +
#: unroll_steps) D/G updates: 100 look-ahead steps already cost 100 forward/backward passes of D per G step).
MAX_STEPS_PER_ITERATION = 100


def int_in(low: int, high: float = math.inf) -> Callable[[Any], bool]:
    """An integer (not a bool) in [low, high]."""
    return lambda v: is_int(v) and low <= v <= high


def is_number(v) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def pair_in_unit(v) -> bool:
    return isinstance(v, Sequence) and len(v) == 2 and all(is_number(b) and 0.0 <= b < 1.0 for b in v)


STEPS = f"an integer in [1, {MAX_STEPS_PER_ITERATION}]"
_POSITIVE = "null or a number > 0"
_POSITIVE_INT = "null or an integer >= 1"
SEED = Rule("seed", int_in(0, 2**32 - 1), "an integer in [0, 2**32 - 1]")
SPLIT = Rule("split", one_of("train", "test"), "train, test")

#: ``ganlab-train``'s rules (``ganlab-eval`` / ``ganlab-latent`` have theirs beside their entry points).
RULES: Sequence[Rule] = (
    SEED,
    Rule("model.d_steps", int_in(1, MAX_STEPS_PER_ITERATION), STEPS),
    Rule("model.g_steps", int_in(1, MAX_STEPS_PER_ITERATION), STEPS),
    Rule("model.unroll_steps", int_in(0, MAX_STEPS_PER_ITERATION), f"an integer in [0, {MAX_STEPS_PER_ITERATION}]"),
    Rule("model.latent_dim", int_in(1), "an integer >= 1"),
    Rule("model.real_label", lambda v: is_number(v) and 0.0 < v <= 1.0, "a number in (0, 1]"),
    Rule("model.max_iterations", lambda v: v is None or (is_int(v) and v >= 1), "null or an integer >= 1"),
    Rule("model.log_every_n_iterations", lambda v: v is None or (is_int(v) and v >= 1), "null or an integer >= 1"),
    Rule("model.scheduler_interval", lambda v: v in ("iteration", "epoch"), "iteration, epoch"),
    Rule("model.grad_clip_g", lambda v: v is None or (is_number(v) and v > 0), "null or a number > 0"),
    Rule("model.grad_clip_d", lambda v: v is None or (is_number(v) and v > 0), "null or a number > 0"),
    Rule("model.k_init", lambda v: is_number(v) and 0.0 <= v <= 1.0, "a number in [0, 1]"),
    Rule("model.lr_plateau_window", lambda v: v is None or (is_int(v) and v >= 1), "null or an integer >= 1"),
    Rule("model.lr_plateau_patience", int_in(0), "an integer >= 0"),
    Rule("model.lr_plateau_factor", lambda v: is_number(v) and 0.0 < v < 1.0, "a number in (0, 1)"),
    Rule(
        "model.*.hidden",
        lambda v: int_in(1)(v) or (isinstance(v, Sequence) and len(v) > 0 and all(int_in(1)(h) for h in v)),
        "integers >= 1 (one width, or one per layer)",
    ),
    Rule("model.*.pack", int_in(1), "an integer >= 1"),
    Rule("loss.gamma", lambda v: is_number(v) and 0.0 < v <= 1.0, "a number in (0, 1]"),
    Rule("loss.lambda_k", lambda v: is_number(v) and v >= 0.0, "a number >= 0"),
    Rule("model.latent_prior", lambda v: v in ("normal", "uniform"), "normal, uniform"),
    Rule("model.z_pooling", lambda v: v in ("pooled", "per_dimension"), "pooled, per_dimension"),
    Rule("data.batch_size", int_in(1), "an integer >= 1"),
    Rule("data.iterations_per_epoch", int_in(1), "an integer >= 1"),
    Rule("data.pool_size", int_in(1), "an integer >= 1"),
    Rule("data.num_workers", int_in(0), "an integer >= 0"),
    Rule("optim.*.lr", lambda v: is_number(v) and v > 0, "a number > 0"),
    Rule("optim.*.betas", pair_in_unit, "two numbers in [0, 1), e.g. [0.5, 0.999]"),
    Rule("optim.*.eps", lambda v: is_number(v) and v > 0, "a number > 0"),
    Rule("optim.*.weight_decay", lambda v: is_number(v) and v >= 0, "a number >= 0"),
    Rule("optim.*.momentum", lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    Rule("trainer.max_epochs", lambda v: v is None or (is_int(v) and v >= -1), "null, -1 or an integer >= 1"),
    Rule("trainer.max_steps", int_in(-1, -1), "-1 (ganlab counts iterations: model.max_iterations)"),
    Rule("trainer.log_every_n_steps", int_in(1), "an integer >= 1"),
    Rule("trainer.num_nodes", int_in(1), "an integer >= 1"),
    Rule("trainer.accelerator", lambda v: v in ("cpu", "gpu", "cuda", "auto"), "cpu, gpu, cuda, auto"),
    Rule("callbacks.*.n_samples", int_in(2), "an integer >= 2"),
    # the run's guards, checked here too so a mistake in them is answered before Lightning is imported
    Rule("callbacks.divergence.policy", lambda v: v in ("stop", "skip", "warn"), "stop, skip, warn"),
    Rule("callbacks.last_checkpoint.every_n_minutes", lambda v: v is None or (is_number(v) and v > 0), _POSITIVE),
    Rule("callbacks.last_checkpoint.every_n_iterations", lambda v: v is None or int_in(1)(v), _POSITIVE_INT),
    Rule("callbacks.last_checkpoint.grace_seconds", lambda v: is_number(v) and v >= 0, "a number >= 0"),
)


def rule_keys(cfg: DictConfig, key: str) -> list[str]:
    """``key`` itself, or with its ``*`` expanded over the children of the node before it."""
    if "*" not in key:
        return [key]
    head, tail = key.split(".*.", 1)
    node = OmegaConf.select(cfg, head, default=None, throw_on_missing=False)
    return [f"{head}.{child}.{tail}" for child in node] if isinstance(node, DictConfig) else []


def check_rules(cfg: DictConfig, rules: Sequence[Rule], prefix: str = "") -> None:
    """ConfigError naming the first key whose value breaks its rule (keys absent from ``cfg`` are skipped)."""
    for rule in rules:
        for key in rule_keys(cfg, rule.key):
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
