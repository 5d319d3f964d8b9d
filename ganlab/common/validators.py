"""Preflight vocabulary: a ``Rule`` (a key, a check, the accepted values in words) and the checks every rule table
and schema field uses. OmegaConf-free and torch-free."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    key: str
    check: Callable[[Any], bool]
    accepted: str


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def require_positive_ints(**values) -> None:
    """Raise ValueError naming the first of ``values`` (name=value) that is not an integer >= 1 (nor a bool): the
    constructor-side check of a callback's interval or size."""
    for name, value in values.items():
        if not (is_int(value) and value >= 1):
            raise ValueError(f"{name}={value!r} is invalid; accepted: an integer >= 1")


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


def optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``None`` or a value ``check`` accepts."""
    return lambda v: v is None or check(v)


STEPS = f"an integer in [1, {MAX_STEPS_PER_ITERATION}]"

#: Settings every entry point has.
SEED = Rule("seed", int_in(0, 2**32 - 1), "an integer in [0, 2**32 - 1]")
SPLIT = Rule("split", one_of("train", "test"), "train, test")
