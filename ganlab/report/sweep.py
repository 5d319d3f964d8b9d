"""Results table and plots of a ``ganlab-train -m`` sweep (a Hydra multirun directory).

    ganlab-report SWEEP_DIR [SWEEP_DIR ...] [--out DIR] [--x KEY] [--hue KEY] [--metrics m1,m2,...]
                  [--sort METRIC] [--per-seed]

e.g. after ``ganlab-train -m experiment=mnist_dcgan loss=minimax,lsgan model.unroll_steps=0,2,5``:
``ganlab-report multirun/2026-11-23_12-17-32``. Every directory with ``.hydra/overrides.yaml``
below SWEEP_DIR is a job (group overrides put ``/`` in job directory names, so the search is recursive). Writes to
``--out`` (default ``SWEEP_DIR/report``): ``report.md`` (Markdown table, also printed), ``report.csv`` (raw values,
all metrics) and one ``<metric>_vs_k.png`` per shown metric: metric vs ``--x`` (default ``model.unroll_steps``,
"k"), one line per ``--hue`` value (default ``loss``, the loss name). Rows are ranked by ``--sort`` (default
classifier_fid, else fid, else modes then hq). Then, with their reason, the jobs that did not finish: failed
(``failed.json``), interrupted (a folder whose run has not reached ``model.max_iterations``: killed, preempted or still
running) and not started (in the sweep's ``multirun.yaml`` but without a folder); the sweep's own command with
``hydra.sweep.dir=<SWEEP_DIR>`` finishes them. Bad input: one ``ganlab-report: error: ...`` line, exit 2, nothing
written.

**Seeds.** Jobs that differ only by ``seed`` are one *cell* of the comparison. When a cell has repeats, the report
leads with the cells: each metric as mean ± sd over the seeds with its 95 % t-interval, the number of seeds, and a
note when the seeds disagree qualitatively (a seed with fewer than half the best seed's modes, or more than 3× the
best seed's FID: "1/3 seeds collapsed (seed 0)"); ``cells.csv`` holds mean, sd, the interval and every seed's
value; plots show mean ± sd as error bars with each seed as a dot. ``--per-seed`` adds the table of single jobs.
Several SWEEP_DIRs (e.g. sweeps run in parallel) are read as one sweep.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
from pathlib import Path

import yaml

from ganlab.common.durable import write_durably
from ganlab.report import sources
from ganlab.report.cells import (
    REPEAT_KEYS,
    Cell,
    Stats,
    cells_csv,
    cells_markdown,
    fmt,
    group_cells,
    has_repeats,
    label,
    lower_is_better,
    summarise,
)
from ganlab.report.jobs import (
    PROG,
    STATUSES,
    Job,
    Parser,
    Table,
    UsageError,
    discover_jobs,
    is_number,
    job_number,
    load_job,
    param_value,
    read_sweeps,
    resolve_sweep,
    unstarted_jobs,
)
from ganlab.report.metric_names import METRIC_ORDER
from ganlab.report.plots import plot_metric

#: What tests and ``ganlab-report curves`` use from here: the report's pieces live in jobs.py and cells.py.
__all__ = [
    "PROG", "STATUSES", "REPEAT_KEYS", "Cell", "Job", "Parser", "Stats", "Table", "UsageError", "build_table",
    "discover_jobs", "fmt", "group_cells", "is_number", "job_number", "load_job", "main", "param_value",
    "plot_metric", "read_sweeps", "resolve_sweep", "summarise", "unstarted_jobs", "write_atomic",
]  # fmt: skip

DEFAULT_SORT = ("classifier_fid", "fid", "classifier_kid", "kid", "modes", "hq", "mode_kl", "classifier_is", "is")
TIEBREAK = {"modes": "hq"}
DETAIL = re.compile(r"(_std|^n_modes|^n_samples|^iteration)$")  # in the CSV, not shown / plotted by default


# --------------------------------------------------------------------------- the table
def accepted_params(jobs: list[Job]) -> list[str]:
    keys = dict.fromkeys(k for job in jobs for k in job.overrides)
    return list(keys)


def all_metrics(jobs: list[Job]) -> list[str]:
    names = {m for job in jobs for m in job.metrics}
    return [m for m in METRIC_ORDER if m in names] + sorted(names - set(METRIC_ORDER))


def swept(jobs: list[Job], key: str) -> bool:
    return len({repr(param_value(job, key)) for job in jobs}) > 1


def check_param(jobs: list[Job], option: str, key: str) -> None:
    if key in accepted_params(jobs) or any(param_value(job, key) is not None for job in jobs):
        return
    raise UsageError(
        f"unknown {option} {key!r}; accepted: an override key of the jobs ({', '.join(accepted_params(jobs))}) "
        "or a dotted key of their .hydra/config.yaml"
    )


def check_metrics(jobs: list[Job], option: str, names: list[str]) -> None:
    known = all_metrics(jobs)
    for name in names:
        if name not in known:
            raise UsageError(f"unknown {option} {name!r}; accepted: {', '.join(known) or '(no metrics in the jobs)'}")


def sort_keys(jobs: list[Job], sort: str | None) -> list[str]:
    if sort:
        return [sort]
    present = {m for job in jobs if job.status == "ok" for m, v in job.metrics.items() if is_number(v)}
    for metric in DEFAULT_SORT:
        if metric in present:
            tie = TIEBREAK.get(metric)
            return [metric, tie] if tie in present else [metric]
    return []


def build_table(jobs: list[Job], x: str, hue: str, metrics: list[str] | None = None, sort: str | None = None) -> Table:
    """Rows of ``jobs``: ok ones ranked by the sort metric(s), then the others (failed, interrupted, not started) by
    job number."""
    params = list(dict.fromkeys([hue, x] + [k for k in accepted_params(jobs) if swept(jobs, k)]))
    valued = {m for job in jobs for m, v in job.metrics.items() if v is not None}
    shown = metrics if metrics else [m for m in all_metrics(jobs) if not DETAIL.search(m) and m in valued]
    keys = sort_keys(jobs, sort)

    def order(job: Job):
        values = [job.metrics.get(k) for k in keys]
        signed = [(v if lower_is_better(k) else -v) for k, v in zip(keys, values, strict=True) if is_number(v)]
        return (not keys or len(signed) < len(keys), signed, job.num if job.num is not None else math.inf)

    ok = sorted((j for j in jobs if j.status == "ok"), key=order)
    rest = sorted((j for j in jobs if j.status != "ok"), key=lambda j: j.num if j.num is not None else math.inf)
    rows, previous, rank = [], None, 0
    for position, job in enumerate(ok + rest, start=1):
        row = {"job": job.num, "status": job.status, "rank": None, "iteration": job.iteration}
        row |= {p: param_value(job, p) for p in params}
        row |= job.metrics
        row |= {"error": job.error, "dir": job.rel}
        if job.status == "ok" and keys and all(is_number(job.metrics.get(k)) for k in keys):
            key = order(job)[1]
            rank = rank if key == previous else position  # ties share a rank (1, 2, 2, 4)
            row["rank"], previous = rank, key
        rows.append(row)
    columns = [("rank", "rank"), ("job", "job"), ("status", "status")]
    columns += [(p, label(p)) for p in params] + [("iteration", "iteration")] + [(m, m) for m in shown]
    if any(row["error"] for row in rows):
        columns.append(("error", "error"))
    return Table(columns, rows, params, shown, all_metrics(jobs), keys)


# --------------------------------------------------------------------------- output
def write_markdown(
    table: Table, sweeps: list[Path], plots: list[str], cells: list[Cell] | None = None, per_seed: bool = False
) -> str:
    """The report as Markdown (returned; written by the caller): the cells over seeds when there are repeats
    (then the single jobs with ``per_seed``, or only the unfinished ones), else the single jobs."""
    counts = {s: sum(row["status"] == s for row in table.rows) for s in STATUSES}
    order = ", then ".join(f"{k} ({'lower' if lower_is_better(k) else 'higher'} is better)" for k in table.sort)
    repeats = cells is not None and has_repeats(cells)
    lines = [
        f"# Sweep report: {', '.join(s.name for s in sweeps)}",
        "",
        *(f"- sweep: `{s}`" for s in sweeps),
        f"- jobs: {len(table.rows)} (" + ", ".join(f"{s} {counts[s]}" for s in STATUSES) + ")",
        f"- ranked by: {order or 'job number (no metric to rank on)'}",
    ]
    if cells is not None and not repeats:
        lines.append("- one job per configuration: no spread to show (sweep e.g. seed=0,1,2 to compare)")
    lines.append("")
    rows = table.rows
    if repeats:
        lines += [f"- cells: {len(cells)} (jobs that differ only by {', '.join(REPEAT_KEYS)})", ""]
        lines += cells_markdown(cells, table) + [""]
        rows = rows if per_seed else [row for row in rows if row["status"] != "ok"]
        if rows:
            lines += ["## Single jobs" if per_seed else "## Jobs not finished (failed, interrupted, not started)", ""]
    if rows:
        lines += ["| " + " | ".join(header for _, header in table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(fmt(row.get(key)) for key, _ in table.columns) + " |" for row in rows]
    if plots:
        lines += [""] + [f"![{Path(p).stem}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def write_csv(table: Table) -> str:
    """All values, raw (full precision, every metric), as CSV text."""
    fields = ["rank", "job", "status", *table.params, "iteration", *table.all_metrics, "error", "dir"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in table.rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in fields})
    return buffer.getvalue()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write beside ``path`` and rename (``common/durable.write_durably``): a crash never leaves a half-written file."""
    payload = data.encode() if isinstance(data, str) else data
    write_durably(path, lambda f: f.write(payload), what=f"the previous {path.name}")


# --------------------------------------------------------------------------- command line
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument(
        "sweeps", metavar="SWEEP_DIR", type=Path, nargs="+", help="ganlab-train -m output directories (read as one)"
    )
    parser.add_argument("--out", type=Path, help="output directory (default: the first SWEEP_DIR/report)")
    parser.add_argument("--x", default="model.unroll_steps", help="x axis of the plots (default: model.unroll_steps)")
    parser.add_argument("--hue", default="loss", help="one line per value of this key (default: loss)")
    parser.add_argument("--metrics", help="comma-separated metrics to show and plot (default: all but *_std, n_*)")
    parser.add_argument("--sort", help="rank by this metric (default: classifier_fid, else fid, else modes + hq)")
    parser.add_argument("--per-seed", action="store_true", help="also list every job (seed) below the cells")
    parser.add_argument(
        "--source", default="json", choices=sources.SOURCES, help="metrics.json, or the CSV / W&B logs' last values"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        sweeps, jobs = read_sweeps(args.sweeps, args.source)
        check_param(jobs, "--x", args.x)
        check_param(jobs, "--hue", args.hue)
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics is not None else None
        if metrics is not None and not metrics:
            raise UsageError("empty --metrics; accepted: comma-separated names, e.g. " + ",".join(all_metrics(jobs)))
        check_metrics(jobs, "--metrics", metrics or [])
        check_metrics(jobs, "--sort", [args.sort] if args.sort else [])
        out = args.out if args.out is not None else sweeps[0] / "report"
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {str(out)!r} is not a directory; accepted: a directory (created if missing)")
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, yaml.YAMLError, ImportError) as exc:  # unreadable job files, W&B not installed
        print(f"{PROG}: error: cannot read the sweep: {exc}".replace("\n", " "), file=sys.stderr)
        return 2

    table = build_table(jobs, args.x, args.hue, metrics, args.sort)
    cells = group_cells(jobs)
    figures = {}
    if swept(jobs, args.x):
        for metric in table.metrics:
            fig = plot_metric(table, metric, args.x, args.hue)
            if fig is None:
                print(f"note: no plot of {metric}: no ok job has a value of it and of {args.x}")
            else:
                figures[f"{metric}_vs_{label(args.x).replace('/', '_')}.png"] = fig
    else:
        print(f"note: --x {args.x} is not swept (one value in all jobs): no plots")
    out.mkdir(parents=True, exist_ok=True)
    markdown = write_markdown(table, sweeps, list(figures), cells, args.per_seed)
    for name, fig in figures.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        write_atomic(out / name, buffer.getvalue())
    write_atomic(out / "report.csv", write_csv(table))
    if has_repeats(cells):
        write_atomic(out / "cells.csv", cells_csv(cells, table))
    write_atomic(out / "report.md", markdown)
    print(markdown)
    written = "report.md, report.csv" + (", cells.csv" if has_repeats(cells) else "")
    print(f"wrote {written} and {len(figures)} plot(s) in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
