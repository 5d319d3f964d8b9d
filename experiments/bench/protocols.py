"""PacGAN's Table 1 protocol (``experiment=ring_pacgan|grid_pacgan``) over seeds, beside the published rows.

Each job is one seed of one configuration — GAN (m = 1), PacGAN2/3/4, and the same protocol with k = 5 unrolling
(first and second order; no paper has these rows) — run through the real config + ``ganlab.cli.train.build``, one
thread each, ``--workers`` at a time. Modes / % high quality / reverse KL are read at every evaluation (every
``--eval-every`` iterations, 2 500 samples), so the output holds the curves as well as the final numbers:

- ``protocols.md``: final mean ± standard error (PacGAN's statistic) and sd, per-seed values, the published row, and
  whether the mean lies within 2 combined standard errors of it (``|Δ| ≤ 2·√(se² + se_pub²)``);
- ``protocols_curves.png``: modes and % HQ against iterations, mean ± s.e. per configuration;
- ``protocols.json``: every job's curve and settings.

The published budget is 400 000 iterations; ``--iterations`` says what was run, and the table says it beside every
number.

    python -m experiments.bench.protocols [--presets grid_pacgan ring_pacgan] [--configs gan pacgan4 …]
        [--seeds 5] [--iterations 400000] [--eval-every 1000] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
from multiprocessing import get_context
from pathlib import Path

from experiments.bench.runs import fit_in_temp_dir

OUT = Path(__file__).parent / "out"
CONFIGS = {
    "gan": ["model.discriminator.pack=1"],
    "pacgan2": ["model.discriminator.pack=2"],
    "pacgan3": ["model.discriminator.pack=3"],
    "pacgan4": ["model.discriminator.pack=4"],
    "unrolled5_first": ["model.unroll_steps=5", "model.unroll_mode=first_order"],
    "unrolled5_second": ["model.unroll_steps=5", "model.unroll_mode=second_order"],
}
#: PacGAN Table 1 (10 trials, mean ± standard error): (modes, % high quality, reverse KL), each (mean, s.e.).
PUBLISHED = {
    "ring_pacgan": {
        "gan": ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
        "pacgan2": ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
        "pacgan3": ((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
        "pacgan4": ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
    },
    "grid_pacgan": {
        "gan": ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
        "pacgan2": ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
        "pacgan3": ((24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
        "pacgan4": ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
    },
}
METRICS = ("modes", "hq", "mode_kl")


def run_job(job: dict) -> dict:
    overrides = [
        f"experiment={job['preset']}",
        f"seed={job['seed']}",
        f"model.max_iterations={job['iterations']}",
        f"data.iterations_per_epoch={job['eval_every']}",
        "callbacks.checkpoint=null",
        "callbacks.mode_coverage.plot_every_n_epochs=1000000",
        "trainer.enable_progress_bar=false",
        *CONFIGS[job["config"]],
        *job["overrides"],
    ]

    def read(run_dir: Path) -> tuple[dict, list[dict]]:
        final = json.loads((run_dir / "metrics.json").read_text())["mode_coverage"]
        final = {k: math.nan if v is None else v for k, v in final.items()}  # strict JSON writes NaN as null
        return final, read_curve(run_dir / "csv" / "metrics.csv", job["eval_every"])

    (final, curve), elapsed = fit_in_temp_dir(overrides, read)
    return {**job, **final, "curve": curve, "seconds": elapsed, "ms_per_iteration": 1000 * elapsed / job["iterations"]}


def read_curve(path: Path, every: int) -> list[dict]:
    """(iteration, modes, hq, mode_kl) at each evaluation, from the CSV logger's epoch rows."""
    curve = []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row.get("val/hq"):
                point = {"iteration": (int(row["epoch"]) + 1) * every}
                point |= {m: float(row[f"val/{m}"]) if row[f"val/{m}"] else math.nan for m in METRICS}
                curve.append(point)
    return curve


def mean_se_sd(values: list[float]) -> tuple[float, float, float]:
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return math.nan, math.nan, math.nan
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), sd / math.sqrt(len(values)), sd


def within(ours: tuple[float, float, float], published: tuple[float, float]) -> str:
    mean, se, _ = ours
    bound = 2 * math.sqrt(se**2 + published[1] ** 2)
    return "yes" if abs(mean - published[0]) <= bound else f"no (Δ {mean - published[0]:+.2f}, 2 s.e. {bound:.2f})"


def summarise(rows: list[dict]) -> str:
    lines = [
        "| preset | config | iterations | seeds | modes mean ± s.e. (sd) | % HQ mean ± s.e. (sd) "
        "| reverse KL mean ± s.e. (sd) | per-seed modes / % HQ / KL | published (400 000 it) "
        "| within 2 s.e. (modes, HQ, KL) | ms/it |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset in dict.fromkeys(r["preset"] for r in rows):
        for config in CONFIGS:
            sel = sorted((r for r in rows if r["preset"] == preset and r["config"] == config), key=lambda r: r["seed"])
            if not sel:
                continue
            stats = {m: mean_se_sd([float(r[m]) for r in sel]) for m in METRICS}
            cells = [f"{s[0]:.2f} ± {s[1]:.2f} ({s[2]:.2f})" for s in stats.values()]
            per_seed = "; ".join(f"{r['modes']} / {r['hq']:.1f} / {r['mode_kl']:.2f}" for r in sel)
            published = PUBLISHED.get(preset, {}).get(config)
            pub_text = " / ".join(f"{m} ± {se}" for m, se in published) if published else "—"
            checks = [within(stats[m], p) for m, p in zip(METRICS, published, strict=True)] if published else ["—"]
            check = ", ".join(checks)
            ms = statistics.mean(r["ms_per_iteration"] for r in sel)
            lines.append(
                f"| {preset} | {config} | {sel[0]['iterations']} | {len(sel)} | {' | '.join(cells)} | {per_seed} "
                f"| {pub_text} | {check} | {ms:.1f} |"
            )
    return "\n".join(lines)


def plot_curves(rows: list[dict], path: Path, configs=CONFIGS) -> None:
    """Modes and % HQ against iterations, mean ± s.e. over seeds: one row of panels per preset, a line per config."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    presets = list(dict.fromkeys(r["preset"] for r in rows))
    fig = Figure(figsize=(11, 4 * len(presets)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(presets), 2, squeeze=False)
    for (ax_modes, ax_hq), preset in zip(axes, presets, strict=True):
        for config in configs:
            sel = [r for r in rows if r["preset"] == preset and r["config"] == config and r["curve"]]
            if not sel:  # no seed of this row has run on this preset: no line, no "(5 seeds)" label
                continue
            iterations = sorted({p["iteration"] for r in sel for p in r["curve"]})
            for ax, metric in ((ax_modes, "modes"), (ax_hq, "hq")):
                at = [[p[metric] for r in sel for p in r["curve"] if p["iteration"] == it] for it in iterations]
                stats = [mean_se_sd(values) for values in at]
                means = [s[0] for s in stats]
                (line,) = ax.plot(iterations, means, label=f"{config} ({len(sel)} seeds)")
                ax.fill_between(
                    iterations, [s[0] - s[1] for s in stats], [s[0] + s[1] for s in stats], color=line.get_color(),
                    alpha=0.2,
                )  # fmt: skip
        for ax, metric in ((ax_modes, "modes"), (ax_hq, "% high quality")):
            ax.set(xlabel="iteration", ylabel=metric, title=f"{preset}: {metric} (mean ± s.e. over seeds)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["grid_pacgan", "ring_pacgan"], choices=list(PUBLISHED))
    parser.add_argument("--configs", nargs="+", default=["gan", "pacgan2", "pacgan4"], choices=list(CONFIGS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=400_000, help="per job (the published budget: 400 000)")
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--overrides", nargs="*", default=[], help="extra Hydra overrides")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    jobs = [
        {
            "preset": preset,
            "config": config,
            "seed": seed,
            "iterations": args.iterations,
            "eval_every": args.eval_every,
            "overrides": args.overrides,
        }
        for preset in args.presets
        for config in args.configs
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    jobs.sort(key=lambda j: ("unrolled" not in j["config"], -int(j["config"][-1]) if j["config"][-1].isdigit() else 0))
    rows = []
    with get_context("spawn").Pool(args.workers) as pool:
        for row in pool.imap_unordered(run_job, jobs):
            rows.append(row)
            print(
                f"{row['preset']} {row['config']} seed {row['seed']}: modes {row['modes']}/{row['n_modes']} "
                f"HQ {row['hq']:.1f} % KL {row['mode_kl']:.3f} ({row['seconds']:.0f} s)",
                flush=True,
            )
    table = summarise(rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "protocols.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out)}, "rows": rows}))
    (args.out / "protocols.md").write_text(table + "\n")
    plot_curves(rows, args.out / "protocols_curves.png")
    print(f"wrote {args.out / 'protocols.md'}, protocols.json and protocols_curves.png")


if __name__ == "__main__":
    main()
