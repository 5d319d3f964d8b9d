"""A validation metric along training, by cell: for every job of one or more ``ganlab-train -m`` sweeps, the values
of ``val/<metric>`` the job recorded, grouped into cells of jobs that differ only by seed as the sweep table groups
them; prints mean ± sd and the per-seed values at each iteration every seed of a cell reached; with ``--out DIR``,
``DIR/<metric>_curves.png`` draws each cell's mean with a ± sd band over its seeds (the per-seed curves thin beside
it).

Where the values come from (``--source``, default ``auto``: the first a job has, in this order):

- ``csv``: the CSV logger's ``csv/**/metrics.csv`` (every epoch end that scored);
- ``wandb``: the job's W&B offline runs (``wandb/offline-run-*/run-*.wandb``, read without the network; a resumed
  offline training is a second run in the folder, and its values win at the iterations both hold);
- ``json``: ``metrics.json``, the final value only (one point per job, at its last iteration).

    ganlab-report curves SWEEP_DIR [SWEEP_DIR ...] [--metric classifier_fid] [--source auto] [--out DIR]

Bad input (a missing folder, no job, a metric no job logged) is one line on stderr, exit status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ganlab.report import sources, wandb_offline
from ganlab.report.cells import fmt, group_cells, summarise
from ganlab.report.jobs import NOT_STARTED, Parser, UsageError, param_value, read_sweeps

SOURCES = ("auto", *sources.SOURCES)


def logged(job_dir: Path, metric: str, source: str = "auto") -> dict[int, float]:
    """{iterations done: value} of ``val/<metric>`` from ``source`` (``auto``: the first source that has it)."""
    for name in sources.SOURCES if source == "auto" else (source,):
        values = {i: m[metric] for i, m in sources.history(job_dir, name).items() if metric in m}
        if values:
            return values
    return {}


def cell_curves(jobs, metric: str, source: str = "auto"):
    """(cell name, {seed: {iteration: value}}, the iterations every seed reached) per cell."""
    cells = group_cells(jobs)
    varying = {k for k in {k for cell in cells for k, _ in cell.key} if len({dict(c.key).get(k) for c in cells}) > 1}
    for cell in cells:
        name = ", ".join(f"{k}={v}" for k, v in cell.key if k in varying) or "(all)"
        per_seed = {param_value(job, "seed"): logged(job.path, metric, source) for job in cell.jobs}
        common = sorted(set.intersection(*(set(v) for v in per_seed.values()))) if per_seed else []
        yield name, per_seed, common


def plot_curves(jobs, metric: str, path: Path, source: str = "auto") -> None:
    """Each cell's mean over its seeds along training with a ± sd band, and every seed's curve thin beside it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, per_seed, common in cell_curves(jobs, metric, source):
        stats = [summarise([per_seed[s][i] for s in per_seed]) for i in common]
        means = [st.mean for st in stats]
        (line,) = ax.plot(common, means, marker="o", label=f"{name} ({len(per_seed)} seeds)")
        sds = [st.sd or 0.0 for st in stats]
        low = [m - d for m, d in zip(means, sds, strict=True)]
        high = [m + d for m, d in zip(means, sds, strict=True)]
        ax.fill_between(common, low, high, color=line.get_color(), alpha=0.2)
        for values in per_seed.values():
            steps = sorted(values)
            ax.plot(steps, [values[i] for i in steps], color=line.get_color(), alpha=0.35, linewidth=0.8)
    ax.set(xlabel="iteration", ylabel=metric, title=f"{metric} along training: mean ± sd over seeds, by cell")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def curve_lines(jobs, metric: str, source: str = "auto") -> list[str]:
    lines = []
    for name, per_seed, common in cell_curves(jobs, metric, source):
        lines.append(f"{name}  ({len(per_seed)} seeds: {', '.join(str(s) for s in per_seed)})")
        for iteration in common:
            values = [per_seed[s][iteration] for s in per_seed]
            stats = summarise(values)
            spread = f" ± {fmt(stats.sd)}" if stats.sd is not None else ""
            lines.append(
                f"  iteration {iteration:>6}: {metric} {fmt(stats.mean)}{spread}   per seed: "
                + ", ".join(fmt(v) for v in values)
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="ganlab-report curves", description=__doc__.split("\n")[0])
    parser.add_argument("sweeps", metavar="SWEEP_DIR", type=Path, nargs="+")
    parser.add_argument("--metric", default="classifier_fid", help="a val/<metric> the jobs logged")
    parser.add_argument("--source", default="auto", choices=SOURCES, help="csv, W&B offline runs or metrics.json")
    parser.add_argument("--out", type=Path, help="also draw <out>/<metric>_curves.png (mean ± sd band by cell)")
    try:
        args = parser.parse_args(argv)
        _, found = read_sweeps(args.sweeps)
        jobs = [job for job in found if job.status != NOT_STARTED]  # a job without a folder has no curve
        if not any(logged(job.path, args.metric, args.source) for job in jobs):
            raise UsageError(
                f"--metric {args.metric}: no job has val/{args.metric} in {args.source} records; "
                "accepted: a logged val/ metric"
            )
    except (UsageError, wandb_offline.DamagedLog, ImportError) as exc:
        print(f"ganlab-report curves: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(curve_lines(jobs, args.metric, args.source)))
    if args.out is not None:
        plot_curves(jobs, args.metric, args.out / f"{args.metric.replace('/', '_')}_curves.png", args.source)
        print(f"wrote {args.out / (args.metric.replace('/', '_') + '_curves.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
