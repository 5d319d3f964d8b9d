"""A resumed run's optimizers take the run's configured hyper-parameters over the checkpoint's.

They differ only when the user allowed a change (``allow_config_change=true``, ``ganlab/preflight/resume_rules.py``);
then the checkpoints state what the optimizers really used. A changed lr rescales the schedule: the current lr and
the scheduler's base lr by new / old (right for every multiplicative schedule: LambdaLR, LinearLR, StepLR, plateau)."""

from __future__ import annotations

import torch


def configured_groups(optimizers: list[torch.optim.Optimizer]) -> list[list[dict]]:
    """Each optimizer's param-group hyper-parameters (all but the parameters), as configured."""
    return [[{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups] for opt in optimizers]


def apply_configured(optimizers, configured: list[list[dict]], schedulers) -> None:
    """Set ``configured`` (from ``configured_groups`` at build time) on the restored ``optimizers``."""
    schedulers = schedulers or []
    schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
    for opt, groups in zip(optimizers, configured, strict=True):
        for index, (group, fresh) in enumerate(zip(opt.param_groups, groups, strict=True)):
            new_base = fresh.get("initial_lr", fresh.get("lr"))
            old_base = group.get("initial_lr", group.get("lr"))
            if new_base is not None and old_base and new_base != old_base:
                group["lr"] = group["lr"] * new_base / old_base
                for scheduler in schedulers:
                    if getattr(scheduler, "optimizer", None) is opt and hasattr(scheduler, "base_lrs"):
                        scheduler.base_lrs[index] = new_base
                if "initial_lr" in group:
                    group["initial_lr"] = new_base
            for key, value in fresh.items():
                if key not in ("lr", "initial_lr"):
                    group[key] = value
