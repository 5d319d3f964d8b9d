"""``fastpath --only surrogate_cost`` (issue #29) at a tiny size: both arms run and are timed per iteration."""

import math

from experiments.bench.fastpath import surrogate_cost


def test_surrogate_cost_times_both_surrogates_alternately():
    result = surrogate_cost(repeats=2, iterations=3, warmup=1)
    assert result["unit"] == "ms per iteration"
    assert len(result["ganlab"]) == len(result["baseline"]) == len(result["ratios"]) == 2
    assert all(math.isfinite(r) and r > 0 for r in result["ratios"])
