"""StyleGAN2's correction of D's optimizer for lazy regularisation (Karras et al. 2020, "Analyzing and Improving
the Image Quality of StyleGAN", appendix B; reference: NVlabs/stylegan2-ada-pytorch ``train.py``/``training_loop.py``:
``mb_ratio = reg_interval / (reg_interval + 1)``, ``lr *= mb_ratio``, ``betas = [b ** mb_ratio for b in betas]``).

A penalty applied every N-th iteration (``loss.penalties.<name>.every`` = N > 1, scaled by N) adds, over N
iterations, one more optimizer step's worth of gradient; the reference slows D's optimizer by c = N / (N + 1): the
learning rate × c and Adam's βs to the power c, so that the momentum horizon in iterations stays what it was. With
several lazy penalties the largest interval is used. The corrected values are what the optimizer holds, so the
checkpoints state what was used; one line says so when the run is built.
"""

from __future__ import annotations

import functools
import inspect

from ganlab.common.runtime import say


def lazy_interval(loss) -> int:
    """The largest ``every`` of the live loss's penalties (1: none is lazy, or a loss without penalties)."""
    return max([penalty.every for penalty in (getattr(loss, "penalties", None) or {}).values()] or [1])


def corrected(factory, interval: int):
    """``factory`` (a partial optimizer class) with StyleGAN2's lazy-regularisation correction for ``interval``, and
    the settings it changed (before, after); (factory, None) when nothing changes."""
    if interval <= 1 or not isinstance(factory, functools.partial):
        return factory, None
    ratio = interval / (interval + 1)
    defaults = {k: p.default for k, p in inspect.signature(factory.func).parameters.items() if p.default is not p.empty}
    settings = {**defaults, **factory.keywords}
    changes = {"lr": settings["lr"] * ratio}
    if "betas" in settings:
        changes["betas"] = tuple(float(b) ** ratio for b in settings["betas"])
    return functools.partial(factory, **changes), ({k: settings[k] for k in changes}, changes)


def _shown(values: dict) -> str:
    """ "lr 0.0002, betas (0.5, 0.999)"."""
    return ", ".join(
        f"{k} {v:.3g}" if isinstance(v, int | float) else f"{k} {tuple(round(float(b), 5) for b in v)}"
        for k, v in values.items()
    )


def apply(live: dict) -> None:
    """Correct ``live["optimizer_d"]`` in place for the lazy interval of ``live["loss"]``, and say so."""
    interval = lazy_interval(live.get("loss"))
    if "optimizer_d" not in live:
        return
    live["optimizer_d"], change = corrected(live["optimizer_d"], interval)
    if change is not None:
        before, after = change
        say(
            f"[ganlab] lazy regularisation every {interval} iterations: D's optimizer {_shown(before)} → "
            f"{_shown(after)} (StyleGAN2's correction, × {interval / (interval + 1):.3g})"
        )
