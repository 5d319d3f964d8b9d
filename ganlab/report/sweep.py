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

from ganlab.common.run_state import FINISHED, run_state
from ganlab.report import sources
from ganlab.report.metric_names import METRIC_ORDER, is_numeric, read_metrics

PROG = "ganlab-report"
INTERRUPTED, NOT_STARTED = "interrupted", "not started"
#: The statuses of a sweep's jobs, in the order the report counts them.
STATUSES = ("ok", "failed", INTERRUPTED, NOT_STARTED)
LABELS = {"model.unroll_steps": "k"}  # readable column / axis names
DEFAULT_SORT = ("classifier_fid", "fid", "classifier_kid", "kid", "modes", "hq", "mode_kl", "classifier_is", "is")
TIEBREAK = {"modes": "hq"}
DETAIL = re.compile(r"(_std|^n_modes|^n_samples|^iteration)$")  # in the CSV, not shown / plotted by default


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


@dataclass
class Job:
    num: int | None
    path: Path
    rel: str
    overrides: dict[str, str]
    config: DictConfig | None
    status: str  # ok | failed | interrupted | not started
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
    """Distances, losses and reconstruction errors (a smaller train/test gap: less memorisation)."""
    return metric.endswith(("fid", "kid", "mode_kl", "loss")) or metric.startswith("reconstruction_")


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


def load_job(path: Path, sweep: Path, source: str = "json") -> Job:
    """A job folder read back: its settings, status (from its files) and numbers (``source``: ``metrics.json``'s, or
    the last values its CSV log or W&B offline runs hold, ``ganlab/report/sources.py``)."""
    job = _load_job(path, sweep)
    if source != "json" and job.status != "failed":
        job.iteration, job.metrics = sources.final(path, source)
    return job


def _load_job(path: Path, sweep: Path) -> Job:
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
            job.status, job.error = INTERRUPTED, "metrics.json is partial (unreadable JSON)"
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
        job.status, job.error = INTERRUPTED, "no metrics.json (killed, preempted or still running)"
    elif job.status == "ok":
        limit = OmegaConf.select(config, "model.max_iterations", default=None) if config is not None else None
        limit = limit if isinstance(limit, int) else None
        if run_state(path, limit) != FINISHED:
            done = "no final iteration" if job.iteration is None else f"iteration {job.iteration}"
            job.status = INTERRUPTED
            job.error = f"{done} of {limit if limit is not None else '?'} (killed, preempted or still running)"
    return job


def unstarted_jobs(sweep: Path, found: list[Job]) -> list[Job]:
    """The jobs of the sweep's command (``multirun.yaml``: its task overrides, multiplied out as the sweeper
    numbers them) that have no folder: killed before they started."""
    try:
        task = OmegaConf.select(OmegaConf.load(sweep / "multirun.yaml"), "hydra.overrides.task", default=None)
    except (OSError, ValueError, yaml.YAMLError):
        return []
    if not task:
        return []
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        jobs = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(list(task)), None)[0]
    except Exception:  # an override this Hydra cannot parse: no claim about missing jobs
        return []
    have = {job.num for job in found}
    return [
        Job(num, sweep, f"{num}_(no folder)", parse_overrides(overrides), None, NOT_STARTED,
            "not started (killed before it began)")
        for num, overrides in enumerate(jobs) if num not in have
    ]  # fmt: skip


def param_value(job: Job, key: str):
    """The job's value of ``key``: its config value (a config group: the group's ``name``), else the override."""
    if job.config is not None:
        value = OmegaConf.select(job.config, key, default=None, throw_on_resolution_failure=False)
        if isinstance(value, DictConfig) and "name" in value:  # a group's name (W&B's needs Hydra: the override)
            value = OmegaConf.select(value, "name", default=None, throw_on_resolution_failure=False)
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


# --------------------------------------------------------------------------- cells: a configuration over seeds
#: Keys whose values only repeat a configuration: jobs that differ by them alone form one cell.
REPEAT_KEYS = ("seed",)
#: A seed "collapsed" when, against the cell's best seed, it has fewer than this share of the modes …
COLLAPSE_MODES_SHARE = 0.5
#: … or more than this multiple of the FID.
COLLAPSE_FID_RATIO = 3.0


@dataclass
class Stats:
    n: int
    mean: float
    sd: float | None  # sample standard deviation (None with one value)
    ci: tuple[float, float] | None  # 95 % t-interval of the mean (None with one value)


#: The range a metric's values can take (an interval of the mean is clipped to it: a count or a share never gets a
#: negative bound). ``modes``: up to the jobs' ``n_modes``, read per cell.
BOUNDS = {
    "hq": (0.0, 100.0), "mode_kl": (0.0, math.inf), "modes": (0.0, math.inf),
    **{f"{p}{m}": (0.0, 1.0) for p in ("", "classifier_") for m in ("precision", "recall", "coverage")},
    **{f"{p}{m}": (0.0, math.inf) for p in ("", "classifier_") for m in ("fid", "kid", "density", "intra_fid")},
}  # fmt: skip


def summarise(values: list[float], bounds: tuple[float, float] | None = None) -> Stats | None:
    """Mean, sample sd and 95 % t-interval of the finite ``values`` (None when there are none); the interval is
    clipped to ``bounds`` (the metric's range) when given."""
    values = [v for v in values if is_number(v)]
    if not values:
        return None
    n, mean = len(values), sum(values) / len(values)
    if n == 1:
        return Stats(1, mean, None, None)
    from scipy.stats import t

    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Stats(n, mean, sd, (low, high))


@dataclass
class Cell:
    key: tuple  # ((override key, value), ...) without the repeat keys
    jobs: list[Job]  # every job of the cell, by seed

    @property
    def ok(self) -> list[Job]:
        return [job for job in self.jobs if job.status == "ok"]

    def values(self, metric: str) -> list[tuple[object, float]]:
        """(seed, value) of the ok jobs with a finite value of ``metric``."""
        return [(param_value(j, "seed"), j.metrics[metric]) for j in self.ok if is_number(j.metrics.get(metric))]

    def stats(self, metric: str) -> Stats | None:
        """Over the seeds that have a value of ``metric`` (``Stats.n`` of them), the interval within its range."""
        bounds = BOUNDS.get(metric)
        if metric == "modes":
            most = [j.metrics.get("n_modes") for j in self.ok if is_number(j.metrics.get("n_modes"))]
            bounds = (0.0, max(most)) if most else bounds
        return summarise([v for _, v in self.values(metric)], bounds)

    def collapsed(self) -> list[tuple[object, str]]:
        """(seed, reason) of the seeds far below the cell's best one (modes, then FID)."""
        found: dict = {}
        modes = self.values("modes")
        if len(modes) > 1:
            best = max(v for _, v in modes)
            for seed, v in modes:
                if v < COLLAPSE_MODES_SHARE * best:
                    found.setdefault(seed, f"modes {fmt(v)} vs {fmt(best)}")
        for metric in ("classifier_fid", "fid"):
            fids = self.values(metric)
            if len(fids) > 1:
                best = min(v for _, v in fids)
                for seed, v in fids:
                    if best > 0 and v > COLLAPSE_FID_RATIO * best:
                        found.setdefault(seed, f"{metric} {fmt(v)} vs {fmt(best)}")
        return sorted(found.items(), key=lambda item: str(item[0]))

    def note(self) -> str:
        bad, failed = self.collapsed(), len(self.jobs) - len(self.ok)
        parts = []
        if bad:
            seeds = ", ".join(f"seed {seed}: {why}" for seed, why in bad)
            parts.append(f"{len(bad)}/{len(self.ok)} seeds collapsed ({seeds})")
        if failed:
            parts.append(f"{failed} job(s) failed, interrupted or not started")
        return "; ".join(parts)


def cell_key(job: Job) -> tuple:
    return tuple(sorted((k, v) for k, v in job.overrides.items() if k not in REPEAT_KEYS))


def group_cells(jobs: list[Job]) -> list[Cell]:
    cells: dict[tuple, Cell] = {}
    for job in jobs:
        cells.setdefault(cell_key(job), Cell(cell_key(job), [])).jobs.append(job)
    for cell in cells.values():
        cell.jobs.sort(key=lambda j: (str(param_value(j, "seed")), j.rel))
    return list(cells.values())


def has_repeats(cells: list[Cell]) -> bool:
    return any(len(cell.jobs) > 1 for cell in cells)


def fmt_stats(stats: Stats | None, seeds: int | None = None) -> str:
    """``mean ± sd [interval]``; ``(n of N seeds)`` when fewer seeds than the cell's ``seeds`` have this metric."""
    if stats is None:
        return ""
    fewer = f" ({stats.n} of {seeds} seeds)" if seeds is not None and stats.n < seeds else ""
    if stats.sd is None:
        return f"{fmt(stats.mean)} (1 seed{f' of {seeds}' if seeds and seeds > 1 else ''})"
    return f"{fmt(stats.mean)} ± {fmt(stats.sd)} [{fmt(stats.ci[0])}, {fmt(stats.ci[1])}]{fewer}"


def rank_cells(cells: list[Cell], table: Table) -> list[tuple[int | None, Cell]]:
    """Cells ranked by the mean of the table's sort metric(s) (cells without them last, unranked)."""

    def order(cell: Cell):
        means = [cell.stats(k) for k in table.sort]
        signed = [(s.mean if lower_is_better(k) else -s.mean) for k, s in zip(table.sort, means, strict=True) if s]
        return (not table.sort or len(signed) < len(table.sort), signed)

    ranked, previous, rank = [], None, 0
    for position, cell in enumerate(sorted(cells, key=order), start=1):
        key = order(cell)
        if key[0]:
            ranked.append((None, cell))
            continue
        rank = rank if key[1] == previous else position
        previous = key[1]
        ranked.append((rank, cell))
    return ranked


def cells_markdown(cells: list[Cell], table: Table) -> list[str]:
    params = [p for p in table.params if p not in REPEAT_KEYS]
    header = ["rank", *[label(p) for p in params], "seeds", *table.metrics, "note"]
    lines = [
        "## Cells: mean ± sd over seeds [95 % t-interval of the mean]",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for rank, cell in rank_cells(cells, table):
        first = cell.jobs[0]
        seeds = ",".join(str(param_value(j, "seed")) for j in cell.ok)
        row = [fmt(rank), *[fmt(param_value(first, p)) for p in params], f"{len(cell.ok)} ({seeds})"]
        row += [fmt_stats(cell.stats(m), len(cell.ok)) for m in table.metrics] + [fmt(cell.note())]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def cells_csv(cells: list[Cell], table: Table) -> str:
    """Per cell: its parameters, seeds, and per metric mean / sd / 95 % interval / each seed's value."""
    params = [p for p in table.params if p not in REPEAT_KEYS]
    fields = ["rank", *params, "n_seeds", "seeds"]
    for m in table.all_metrics:
        fields += [f"{m}_n", f"{m}_mean", f"{m}_sd", f"{m}_ci_low", f"{m}_ci_high", f"{m}_per_seed"]
    fields.append("note")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for rank, cell in rank_cells(cells, table):
        row = {"rank": "" if rank is None else rank, "n_seeds": len(cell.ok), "note": cell.note()}
        row |= {p: param_value(cell.jobs[0], p) for p in params}
        row["seeds"] = " ".join(str(param_value(j, "seed")) for j in cell.ok)
        for m in table.all_metrics:
            stats = cell.stats(m)
            if stats is not None:
                row[f"{m}_n"] = stats.n
                row[f"{m}_mean"], row[f"{m}_sd"] = stats.mean, "" if stats.sd is None else stats.sd
                row[f"{m}_ci_low"], row[f"{m}_ci_high"] = stats.ci if stats.ci else ("", "")
            row[f"{m}_per_seed"] = " ".join(f"{seed}:{v!r}" for seed, v in cell.values(m))
        writer.writerow(row)
    return buffer.getvalue()


# --------------------------------------------------------------------------- output
def fmt(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).replace("|", "\\|").replace("\n", " ")
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer()):
        return str(int(value))
    return f"{value:.3f}" if abs(value) >= 1 else f"{value:.3g}"


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
        sweeps = [resolve_sweep(sweep) for sweep in args.sweeps]
        jobs = []
        for sweep in sweeps:
            found = [load_job(path, sweep, args.source) for path in discover_jobs(sweep)]
            found += unstarted_jobs(sweep, found)
            if not found:
                raise UsageError(
                    f"no job directories (.hydra/overrides.yaml) under {str(sweep)!r}; "
                    "accepted: a ganlab-train -m output directory"
                )
            for job in found:
                job.rel = f"{sweep.name}/{job.rel}" if len(sweeps) > 1 else job.rel
                jobs.append(job)
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
