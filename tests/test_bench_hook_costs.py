"""``experiments/bench/hook_costs.py`` at a tiny size: it counts the per-step machinery it prices, on the real run."""

from experiments.bench.hook_costs import hook_costs
from ganlab.modules import GANModule


def test_hook_costs_counts_lightnings_per_step_machinery_on_the_ring():
    result = hook_costs(count=4, repeats=1, warmup=3, plain_iterations=10)
    uses, us = result["per_iteration_uses"], result["us_per_use"]
    # every callback hook dispatch and module / strategy hook is wrapped in a profile context, each sets the hook name
    assert uses["profile"] > uses["callback_hook"] >= 6 * len(result["callbacks"]) > 0
    assert uses["hook_name"] >= 10 and uses["guard"] == 2 and result["gradients_checked"] > 0
    assert all(v > 0 for v in (*us["profile"].values(), *us["hook_name"].values(), us["guard"], result["plain_ms"]))
    assert "DivergenceGuard" in result["callbacks"] and "Probe" not in result["callbacks"]
    assert "__setattr__" not in GANModule.__dict__  # the counting wrapper is gone
