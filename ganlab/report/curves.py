"""A validation metric along training, by cell: for every job of one or more ``ganlab-train -m`` sweeps, the values
of ``val/<metric>`` its CSV log recorded (``csv/metrics.csv``, at each epoch end that scored), grouped into cells of
jobs that differ only by seed as the sweep table groups them; prints mean ± sd and the per-seed values at each
iteration every seed of a cell reached.

    ganlab-report curves SWEEP_DIR [SWEEP_DIR ...] [--metric classifier_fid]

Bad input (a missing folder, no job, a metric no job logged) is one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from ganlab.report.sweep import (
    UsageError,
    discover_jobs,
    fmt,
    group_cells,
    load_job,
    param_value,
    resolve_sweep,
    summarise,
)


def logged(job_dir: Path, metric: str) -> dict[int, float]:
    """{iteration: value} of ``val/<metric>`` in the job's CSV log (step + 1 = iterations done)."""
    values: dict[int, float] = {}
    for path in sorted(job_dir.glob("csv/**/metrics.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                value = row.get(f"val/{metric}")
                if value not in (None, ""):
                    values[int(row["step"]) + 1] = float(value)
    return values


def curve_lines(jobs, metric: str) -> list[str]:
    lines = []
    for cell in group_cells(jobs):
        name = ", ".join(f"{k}={v}" for k, v in cell.key) or "(all)"
        per_seed = {param_value(job, "seed"): logged(job.path, metric) for job in cell.jobs}
        common = sorted(set.intersection(*(set(v) for v in per_seed.values()))) if per_seed else []
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
    parser = argparse.ArgumentParser(prog="ganlab-report curves", description=__doc__.split("\n")[0])
    parser.add_argument("sweeps", metavar="SWEEP_DIR", type=Path, nargs="+")
    parser.add_argument("--metric", default="classifier_fid", help="a val/<metric> of the CSV logs")
    args = parser.parse_args(argv)
    try:
        jobs = []
        for sweep in (resolve_sweep(s) for s in args.sweeps):
            paths = discover_jobs(sweep)
            if not paths:
                raise UsageError(
                    f"no job directories under {str(sweep)!r}; accepted: a ganlab-train -m output directory"
                )
            jobs += [load_job(p, sweep) for p in paths]
        if not any(logged(job.path, args.metric) for job in jobs):
            raise UsageError(f"--metric {args.metric}: no job logged val/{args.metric}; accepted: a logged val/ metric")
    except UsageError as exc:
        print(f"ganlab-report curves: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(curve_lines(jobs, args.metric)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
