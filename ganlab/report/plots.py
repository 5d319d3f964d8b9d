"""The sweep report's plot: a metric against a swept key, one line per value of another (``ganlab-report``)."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ganlab.report.cells import label, lower_is_better, summarise
from ganlab.report.jobs import Table, is_number

#: A metric spanning more than this factor is plotted on a log axis.
LOG_SCALE_RATIO = 20.0


def plot_metric(table: Table, metric: str, x: str, hue: str) -> Figure | None:
    """``metric`` vs ``x`` over the ok jobs, one line per ``hue`` value (mean over repeats, e.g. seeds, with the
    single values as dots); None when no job has both values."""
    points: dict[str, dict] = {}
    for row in table.rows:
        xv, yv = row.get(x), row.get(metric)
        if row["status"] == "ok" and xv is not None and is_number(yv):
            points.setdefault(str(row.get(hue)), {}).setdefault(xv, []).append(yv)
    if not points:
        return None
    xs = sorted(
        {v for by_x in points.values() for v in by_x}, key=lambda v: (not is_number(v), v if is_number(v) else str(v))
    )
    position = {v: (v if all(is_number(u) for u in xs) else i) for i, v in enumerate(xs)}
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name in sorted(points):
        by_x = points[name]
        ordered = [v for v in xs if v in by_x]
        stats = [summarise(by_x[v]) for v in ordered]
        xs_here = [position[v] for v in ordered]
        (line,) = ax.plot(xs_here, [st.mean for st in stats], marker="o", label=name)
        if any(st.sd is not None for st in stats):  # mean ± sd over the repeats (seeds)
            sds = [st.sd or 0.0 for st in stats]
            ax.errorbar(xs_here, [st.mean for st in stats], yerr=sds, fmt="none", ecolor=line.get_color(), capsize=4)
        repeats = [(position[v], y) for v in ordered for y in by_x[v] if len(by_x[v]) > 1]
        if repeats:
            ax.scatter([p for p, _ in repeats], [y for _, y in repeats], color=line.get_color(), alpha=0.35, s=12)
    ax.set_xticks([position[v] for v in xs], [str(v) for v in xs])
    values = [y for by_x in points.values() for ys in by_x.values() for y in ys]
    if min(values) > 0 and max(values) / min(values) > LOG_SCALE_RATIO:  # e.g. collapsed runs beside good ones
        ax.set_yscale("log")
    direction = "lower" if lower_is_better(metric) else "higher"
    n_max = max(len(ys) for by_x in points.values() for ys in by_x.values())
    spread = f", mean ± sd of ≤ {n_max} seeds" if n_max > 1 else ""
    ax.set(xlabel=label(x), ylabel=metric, title=f"{metric} vs {label(x)} ({direction} is better{spread})")
    ax.grid(alpha=0.3)
    ax.legend(title=label(hue))
    fig.tight_layout()
    return fig
