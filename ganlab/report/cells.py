"""Cells of a sweep: the jobs that differ only by seed, a configuration repeated. Each metric's mean, sd and 95 %
t-interval over the cell's seeds (clipped to the metric's range), the seeds that disagree qualitatively, the cells
ranked, as Markdown and CSV; and the number format and metric directions the report shares."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from ganlab.report.jobs import Job, Table, is_number, param_value

LABELS = {"model.unroll_steps": "k"}  # readable column / axis names


def label(key: str) -> str:
    return LABELS.get(key, key)


def lower_is_better(metric: str) -> bool:
    """Distances, losses and reconstruction errors (a smaller train/test gap: less memorisation)."""
    return metric.endswith(("fid", "kid", "mode_kl", "loss")) or metric.startswith("reconstruction_")


def fmt(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).replace("|", "\\|").replace("\n", " ")
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer()):
        return str(int(value))
    return f"{value:.3f}" if abs(value) >= 1 else f"{value:.3g}"


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
