"""Preflight: ``ganlab-train``'s per-key rules (the engine's settings come from the schemas' field metadata; the
rest — nets, data, optimizers, trainer, the run's guards — are listed here) and the checker that turns the first
broken one into a one-line ``ConfigError``. Checking a rule never loads torch or Lightning."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf

from ganlab.common.errors import ConfigError
from ganlab.common.options import ADA_PIPELINES, AUGMENT_POLICIES
from ganlab.common.validators import SEED, Rule, int_in, is_int, is_number, number_in, one_of, optional, pair_in_unit
from ganlab.composition.schemas import LOSS_SCHEMAS, MODEL_SCHEMAS, schema_rules
from ganlab.report.objective import ACCEPTED as OBJECTIVES

#: ``+trainer.profiler=…``: Lightning's profilers by name (without one, ``composition/profiler.NullProfiler``).
PROFILERS = ("simple", "advanced", "pytorch")

_POSITIVE = "null or a number > 0"
_POSITIVE_INT = "null or an integer >= 1"

_POLICY = f"a non-empty comma list of {', '.join(AUGMENT_POLICIES)} (quoted: 'color,translation')"


def is_policy(v) -> bool:
    """A DiffAugment policy: ``"color,cutout"`` or ``[color, cutout]``, names from ``AUGMENT_POLICIES``."""
    names = v.split(",") if isinstance(v, str) else v
    return (
        isinstance(names, list)
        and len(names) > 0
        and all(isinstance(n, str) and n.strip() in AUGMENT_POLICIES for n in names)
    )


def is_objective(v) -> bool:
    """``objective``: null, a metric name, or a non-empty list of them (``ganlab/report/objective.py``)."""
    names = [v] if isinstance(v, str) else v
    return v is None or (isinstance(names, Sequence) and len(names) > 0 and all(n in OBJECTIVES for n in names))


#: ``ganlab-train``'s rules (``ganlab-eval`` / ``ganlab-latent`` have theirs beside their entry points).
RULES: Sequence[Rule] = (
    SEED,
    Rule("threads", optional(int_in(1)), "an integer >= 1, or null (torch's default)"),
    Rule("collective_timeout_s", optional(lambda v: is_number(v) and v > 0), "a number of seconds > 0, or null"),
    Rule("objective", is_objective, "null, or one or a list of: " + ", ".join(OBJECTIVES)),
    # the engine's settings: declared once, in the schemas
    *schema_rules("model", *MODEL_SCHEMAS.values()),
    *schema_rules("loss", *LOSS_SCHEMAS.values()),
    Rule(
        "model.*.hidden",
        lambda v: int_in(1)(v) or (isinstance(v, Sequence) and len(v) > 0 and all(int_in(1)(h) for h in v)),
        "integers >= 1 (one width, or one per layer)",
    ),
    Rule("model.*.pack", int_in(1), "an integer >= 1"),
    Rule("model.ema.decay", number_in(0.0, 1.0, low_open=True, high_open=True), "a number in (0, 1), e.g. 0.999"),
    Rule("model.ema.start", int_in(0), "an integer >= 0 (the first averaged iteration)"),
    Rule("loss.penalties.*.weight", lambda v: is_number(v) and v >= 0, "a number >= 0"),
    Rule("loss.penalties.*.every", int_in(1), "an integer >= 1 (N > 1: lazy, every N-th iteration)"),
    Rule("loss.penalties.*.decay", number_in(0.0, 1.0, high_open=True), "a number in [0, 1)"),
    Rule("loss.penalties.*.policy", is_policy, _POLICY),
    Rule("loss.augment.policy", is_policy, _POLICY),
    Rule("loss.augment.probability", number_in(0.0, 1.0), "a number in [0, 1]"),
    Rule("loss.augment.pipeline", one_of(*ADA_PIPELINES), ", ".join(ADA_PIPELINES)),
    Rule("loss.augment.target", number_in(0.0, 1.0, low_open=True, high_open=True), "a number in (0, 1), e.g. 0.6"),
    Rule("loss.augment.interval", int_in(1), "an integer >= 1 (iterations between updates of p)"),
    Rule("loss.augment.speed_images", lambda v: is_number(v) and v > 0, "a number > 0 (images for p to cross [0, 1])"),
    Rule("data.batch_size", int_in(1), "an integer >= 1"),
    Rule("data.iterations_per_epoch", int_in(1), "an integer >= 1"),
    Rule("data.pool_size", optional(int_in(1)), "an integer >= 1, or null (a fresh draw for every batch)"),
    Rule("data.num_workers", int_in(0), "an integer >= 0"),
    Rule("data.train_fraction", number_in(0.0, 1.0, low_open=True), "a number in (0, 1]"),
    Rule("data.train_size", optional(int_in(1)), "an integer >= 1 (that many training images), or null"),
    Rule("data.subset_seed", int_in(0), "an integer >= 0 (the seed of the training subset), e.g. ${seed}"),
    Rule("data.holdout", number_in(0.0, 1.0, high_open=True), "a number in [0, 1)"),
    Rule("optim.*.lr", lambda v: is_number(v) and v > 0, "a number > 0"),
    Rule("optim.*.betas", pair_in_unit, "two numbers in [0, 1), e.g. [0.5, 0.999]"),
    Rule("optim.*.eps", lambda v: is_number(v) and v > 0, "a number > 0"),
    Rule("optim.*.weight_decay", lambda v: is_number(v) and v >= 0, "a number >= 0"),
    Rule("optim.*.momentum", lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    Rule(
        "trainer.max_epochs", lambda v: v is None or (is_int(v) and (v == -1 or v >= 1)), "null, -1 or an integer >= 1"
    ),
    Rule(
        "name",
        lambda v: isinstance(v, str) and 0 < len(v.encode()) <= 200 and "/" not in v,
        "a folder name of 1 to 200 bytes without '/' (it names the run folder)",
    ),  # fmt: skip
    Rule("trainer.max_steps", int_in(-1, -1), "-1 (ganlab counts iterations: model.max_iterations)"),
    Rule("trainer.log_every_n_steps", int_in(1), "an integer >= 1"),
    Rule("trainer.enable_progress_bar", lambda v: v in (True, False, "auto"), "true, false, auto (only on a terminal)"),
    Rule("trainer.num_nodes", int_in(1), "an integer >= 1"),
    Rule("trainer.profiler", one_of(None, *PROFILERS), f"null (none), {', '.join(PROFILERS)} (Lightning's)"),
    Rule("trainer.accelerator", lambda v: v in ("cpu", "gpu", "cuda", "auto"), "cpu, gpu, cuda, auto"),
    Rule("callbacks.*.n_samples", int_in(2), "an integer >= 2"),
    # the run's guards, checked here too so a mistake in them is answered before Lightning is imported
    Rule("callbacks.divergence.policy", lambda v: v in ("stop", "skip", "warn"), "stop, skip, warn"),
    Rule("callbacks.last_checkpoint.every_n_minutes", lambda v: v is None or (is_number(v) and v > 0), _POSITIVE),
    Rule("callbacks.last_checkpoint.every_n_iterations", lambda v: v is None or int_in(1)(v), _POSITIVE_INT),
    Rule("callbacks.last_checkpoint.grace_seconds", lambda v: is_number(v) and v >= 0, "a number >= 0"),
    Rule(
        "callbacks.last_checkpoint.hang_seconds",
        optional(lambda v: is_number(v) and v > 0),
        "a number > 0, or null (no watchdog)",
    ),
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
