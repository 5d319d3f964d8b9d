"""Results table and plots of a ``ganlab-train -m`` sweep (a Hydra multirun directory).

    python -m experiments.report SWEEP_DIR [--out DIR] [--x KEY] [--hue KEY] [--metrics m1,m2,...] [--sort METRIC]

e.g. after ``ganlab-train -m experiment=mnist_dcgan loss=minimax,lsgan model.unroll_steps=0,2,5``:
``python -m experiments.report multirun/2026-11-23_12-17-32``. Every directory with ``.hydra/overrides.yaml``
below SWEEP_DIR is a job (group overrides put ``/`` in job directory names, so the search is recursive). Writes to
``--out`` (default ``SWEEP_DIR/report``): ``report.md`` (Markdown table, also printed), ``report.csv`` (raw values,
all metrics) and one ``<metric>_vs_k.png`` per shown metric: metric vs ``--x`` (default ``model.unroll_steps``,
"k"), one line per ``--hue`` value (default ``loss``, the loss name). Rows are ranked by ``--sort`` (default
classifier_fid, else fid, else modes then hq); failed jobs (``failed.json``) and incomplete ones (no
``metrics.json``) come last with their error. Bad input: one ``report.py: error: ...`` line, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from omegaconf import DictConfig, OmegaConf

PROG = "report.py"
LABELS = {"model.unroll_steps": "k"}  # readable column / axis names
METRIC_SOURCES = ("image_metrics", "mode_coverage")  # nested results in metrics.json, then the flat val/* keys
METRIC_ORDER = ("classifier_fid", "fid", "classifier_kid", "kid", "classifier_is", "is", "modes", "hq", "mode_kl")
DEFAULT_SORT = ("classifier_fid", "fid", "classifier_kid", "kid", "modes", "hq", "mode_kl", "classifier_is", "is")
TIEBREAK = {"modes": "hq"}
DETAIL = re.compile(r"(_std|^n_modes|^n_samples|^iteration)$")  # in the CSV, not shown / plotted by default
NOT_METRICS = {"iteration", "epoch"}


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


@dataclass
class Job:
    num: int | None
    path: Path
    rel: str
    overrides: dict[str, str]
    config: DictConfig | None
    status: str  # ok | failed | incomplete
    error: str = ""
    iteration: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Table:
    columns: list[tuple[str, str]]  # (key in a row, header)
    rows: list[dict]
    params: list[str]  # parameter keys shown (x and hue first)
    metrics: list[str]  # metric keys shown
    all_metrics: list[str]  # every metric key (the CSV)
    sort: list[str]  # metric keys sorted on ([] = job number)


def label(key: str) -> str:
    return LABELS.get(key, key)


def lower_is_better(metric: str) -> bool:
    return metric.endswith(("fid", "kid", "mode_kl", "loss"))


def is_numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite number: rankable and plottable (NaN of a diverged run is kept in the table, not ranked)."""
    return is_numeric(value) and math.isfinite(value)


# --------------------------------------------------------------------------- reading the sweep
def discover_jobs(sweep: Path) -> list[Path]:
    """Job directories (with ``.hydra/overrides.yaml``) below ``sweep``, by job number (then path)."""
    found = []
    for root, dirs, _ in os.walk(sweep):
        here = Path(root)
        if here != sweep and (here / ".hydra" / "overrides.yaml").is_file():
            found.append(here)
            dirs.clear()  # a job's own folders hold no jobs
        else:
            dirs[:] = sorted(d for d in dirs if d != ".hydra")
    return sorted(found, key=lambda p: (job_number(p, sweep) is None, job_number(p, sweep) or 0, str(p)))


def job_number(path: Path, sweep: Path) -> int | None:
    match = re.match(r"\d+", path.relative_to(sweep).parts[0])
    return int(match.group()) if match else None


def parse_overrides(lines: list) -> dict[str, str]:
    out = {}
    for item in lines or []:
        key, sep, value = str(item).partition("=")
        if sep:
            out[key.lstrip("+~")] = value
    return out


def read_metrics(data: dict) -> dict[str, float | None]:
    """Numbers (or null) of ``image_metrics`` / ``mode_coverage``, then the ``val/*`` keys not already there."""
    metrics: dict[str, float | None] = {}
    for source in METRIC_SOURCES:
        for key, value in (data.get(source) or {}).items():
            if key not in NOT_METRICS and (value is None or is_numeric(value)):
                metrics.setdefault(key, value)
    for key, value in data.items():
        if key.startswith("val/") and (value is None or is_numeric(value)):
            metrics.setdefault(key[len("val/") :], value)
    return metrics


def load_job(path: Path, sweep: Path) -> Job:
    overrides = parse_overrides(OmegaConf.to_container(OmegaConf.load(path / ".hydra" / "overrides.yaml")))
    config_file = path / ".hydra" / "config.yaml"
    config = OmegaConf.load(config_file) if config_file.is_file() else None
    job = Job(job_number(path, sweep), path, str(path.relative_to(sweep)), overrides, config, "ok")
    metrics_file, failed_file = path / "metrics.json", path / "failed.json"
    data = None
    if metrics_file.is_file():
        try:
            data = json.loads(metrics_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            job.status, job.error = "incomplete", "metrics.json is partial (unreadable JSON)"
    if isinstance(data, dict):
        job.metrics = read_metrics(data)
        job.iteration = data.get("iteration") if is_number(data.get("iteration")) else None
    if failed_file.is_file():
        job.status = "failed"
        try:
            failure = json.loads(failed_file.read_text())
            job.error = f"{failure.get('type', 'Error')}: {failure.get('error', '')}".strip()
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            job.error = "failed.json is unreadable"
    elif data is None and job.status == "ok":
        job.status, job.error = "incomplete", "no metrics.json (still running or killed)"
    return job


def param_value(job: Job, key: str):
    """The job's value of ``key``: its config value (a config group: the group's ``name``), else the override."""
    if job.config is not None:
        value = OmegaConf.select(job.config, key, default=None, throw_on_resolution_failure=False)
        if isinstance(value, DictConfig) and "name" in value:
            value = value.get("name")
        if value is not None and not OmegaConf.is_config(value):
            return value
    if key in job.overrides:
        try:
            return yaml.safe_load(job.overrides[key])
        except yaml.YAMLError:
            return job.overrides[key]
    return None


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
    """Rows of ``jobs``: ok ones ranked by the sort metric(s), then failed / incomplete ones by job number."""
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
def fmt(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).replace("|", "\\|").replace("\n", " ")
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer()):
        return str(int(value))
    return f"{value:.3f}" if abs(value) >= 1 else f"{value:.3g}"


def write_markdown(table: Table, sweep: Path, plots: list[str]) -> str:
    """The report as Markdown (returned; written by the caller)."""
    counts = {s: sum(row["status"] == s for row in table.rows) for s in ("ok", "failed", "incomplete")}
    order = ", then ".join(f"{k} ({'lower' if lower_is_better(k) else 'higher'} is better)" for k in table.sort)
    lines = [
        f"# Sweep report: {sweep.name}",
        "",
        f"- sweep: `{sweep}`",
        f"- jobs: {len(table.rows)} (ok {counts['ok']}, failed {counts['failed']}, incomplete {counts['incomplete']})",
        f"- ranked by: {order or 'job number (no metric to rank on)'}",
        "",
        "| " + " | ".join(header for _, header in table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    lines += ["| " + " | ".join(fmt(row.get(key)) for key, _ in table.columns) + " |" for row in table.rows]
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
        means = [sum(by_x[v]) / len(by_x[v]) for v in ordered]
        (line,) = ax.plot([position[v] for v in ordered], means, marker="o", label=name)
        repeats = [(position[v], y) for v in ordered for y in by_x[v] if len(by_x[v]) > 1]
        if repeats:
            ax.scatter([p for p, _ in repeats], [y for _, y in repeats], color=line.get_color(), alpha=0.35, s=12)
    ax.set_xticks([position[v] for v in xs], [str(v) for v in xs])
    values = [y for by_x in points.values() for ys in by_x.values() for y in ys]
    if min(values) > 0 and max(values) / min(values) > LOG_SCALE_RATIO:  # e.g. collapsed runs beside good ones
        ax.set_yscale("log")
    direction = "lower" if lower_is_better(metric) else "higher"
    ax.set(xlabel=label(x), ylabel=metric, title=f"{metric} vs {label(x)} ({direction} is better)")
    ax.grid(alpha=0.3)
    ax.legend(title=label(hue))
    fig.tight_layout()
    return fig


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: a crash never leaves a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- command line
class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage + message
        raise UsageError(f"{message}; see {PROG} --help")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("sweep", metavar="SWEEP_DIR", type=Path, help="a ganlab-train -m output directory")
    parser.add_argument("--out", type=Path, help="output directory (default: SWEEP_DIR/report)")
    parser.add_argument("--x", default="model.unroll_steps", help="x axis of the plots (default: model.unroll_steps)")
    parser.add_argument("--hue", default="loss", help="one line per value of this key (default: loss)")
    parser.add_argument("--metrics", help="comma-separated metrics to show and plot (default: all but *_std, n_*)")
    parser.add_argument("--sort", help="rank by this metric (default: classifier_fid, else fid, else modes + hq)")
    return parser.parse_args(argv)


def resolve_sweep(sweep: Path) -> Path:
    if not sweep.exists():
        raise UsageError(f"SWEEP_DIR {str(sweep)!r} does not exist; accepted: a ganlab-train -m output directory")
    if not sweep.is_dir():
        raise UsageError(f"SWEEP_DIR {str(sweep)!r} is not a directory; accepted: a ganlab-train -m output directory")
    if not (sweep / "multirun.yaml").is_file():
        nested = sorted(p.parent for p in sweep.glob("*/multirun.yaml"))
        if len(nested) > 1:
            names = ", ".join(p.name for p in nested)
            raise UsageError(f"{str(sweep)!r} holds {len(nested)} sweeps; accepted: one of them ({names})")
        if len(nested) == 1:
            return nested[0]
    return sweep


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        sweep = resolve_sweep(args.sweep)
        paths = discover_jobs(sweep)
        if not paths:
            raise UsageError(
                f"no job directories (.hydra/overrides.yaml) under {str(sweep)!r}; "
                "accepted: a ganlab-train -m output directory"
            )
        jobs = [load_job(p, sweep) for p in paths]
        check_param(jobs, "--x", args.x)
        check_param(jobs, "--hue", args.hue)
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics is not None else None
        if metrics is not None and not metrics:
            raise UsageError("empty --metrics; accepted: comma-separated names, e.g. " + ",".join(all_metrics(jobs)))
        check_metrics(jobs, "--metrics", metrics or [])
        check_metrics(jobs, "--sort", [args.sort] if args.sort else [])
        out = args.out if args.out is not None else sweep / "report"
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {str(out)!r} is not a directory; accepted: a directory (created if missing)")
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, yaml.YAMLError) as exc:  # unreadable job files (e.g. broken overrides.yaml)
        print(f"{PROG}: error: cannot read the sweep: {exc}".replace("\n", " "), file=sys.stderr)
        return 2

    table = build_table(jobs, args.x, args.hue, metrics, args.sort)
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
    markdown = write_markdown(table, sweep, list(figures))
    for name, fig in figures.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        write_atomic(out / name, buffer.getvalue())
    write_atomic(out / "report.csv", write_csv(table))
    write_atomic(out / "report.md", markdown)
    print(markdown)
    print(f"wrote {out / 'report.md'}, {out / 'report.csv'} and {len(figures)} plot(s) in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
