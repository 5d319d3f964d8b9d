"""VEEGAN Table 1 (Srivastava et al. 2017), rows GAN and Unrolled GAN, on ``ring_veegan`` / ``grid_veegan`` over seeds.

Each job is one seed of one row, run by ``ganlab-train`` as a user would (one thread, its own process) into a run
folder of its own under ``--root``: a job whose folder holds a finished run (``metrics.json`` at the last iteration)
is read, not re-run, and an interrupted one resumes exactly from its ``last.ckpt`` (``auto_resume``), so the command
can be repeated until the table is complete. Rows (``--configs``):

- ``gan``: k = 0 (VEEGAN's "GAN" row: Metz et al.'s settings without unrolling);
- ``unrolled``: k = 5, second order (the presets' default: Metz et al.'s surrogate, ``unroll_surrogate=game``);
- further rows are ganlab's own recipes on the same protocol (``RECIPES``), and ``--tag NAME --overrides …`` runs
  a variant of the chosen rows into folders of their own (e.g. ``--tag pool --overrides data.pool_size=100000``).

The table (``veegan.md``) gives per-seed modes and % HQ (2 500 samples, HQ within 3σ, VEEGAN's definitions), the mean
± standard error and the 95 % t-interval of the mean, the published mean and whether it lies inside; ``veegan.json``
every job's curve; ``veegan_curves.png`` modes / % HQ against iterations (mean ± s.e.); ``veegan_<preset>_<row>.png``
the first seed's final samples.

    python -m experiments.bench.veegan [--presets ring_veegan grid_veegan] [--configs gan unrolled] [--seeds 5]
        [--workers 2] [--root DIR] [--tag NAME --overrides …] [--report-only]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from experiments.bench.protocols import mean_se_sd, plot_curves, read_curve
from experiments.bench.runs import finished, train_in_folder

OUT = Path(__file__).parent / "out"
#: VEEGAN Table 1 (mean of 5 runs, no error bars): (modes, % high quality).
PUBLISHED = {
    "ring_veegan": {"gan": (1.0, 99.3), "unrolled": (7.6, 35.6), "veegan": (8.0, 52.9)},
    "grid_veegan": {"gan": (3.3, 0.5), "unrolled": (23.6, 16.0), "veegan": (24.6, 40.0)},
}
ROWS = {"gan": ["model.unroll_steps=0"], "unrolled": []}
#: ganlab's recipes on the same protocol (same data, 25 000 iterations, batch 512, the same scoring; nets ≤ 2 × 128).
RECIPES: dict[str, list[str]] = {
    # ring_unrolled's recipe: 2 × 128 ReLU nets (PyTorch's init), the non-saturating loss, Adam (lr_G 1e-3, lr_D 3e-4,
    # β₁ 0.5) decayed linearly to 1 % over the run, k = 5 first-order unrolling
    "recipe": ["model=gan_mlp2d", "loss=non_saturating", "optim=toy2d", "model.unroll_steps=5",
               "model.unroll_mode=first_order"],
    # the same with PacGAN's packing (D sees 256 packs of 2 samples; Lin et al. 2018)
    "recipe_pac2": ["model=gan_mlp2d", "loss=non_saturating", "optim=toy2d", "model.unroll_steps=5",
                    "model.unroll_mode=first_order", "+model.discriminator.pack=2"],
}  # fmt: skip
CONFIGS = {**ROWS, **RECIPES}


def run_dir(root: Path, job: dict) -> Path:
    name = job["config"] + (f"+{job['tag']}" if job["tag"] else "")
    return root / job["preset"] / name / f"seed{job['seed']}"


def run_job(job: dict) -> dict:
    """Train (or resume) one job unless it is finished; its final coverage and curve."""
    folder = run_dir(Path(job["root"]), job)
    overrides = [f"experiment={job['preset']}", f"seed={job['seed']}", f"data.iterations_per_epoch={job['eval_every']}",
                 *CONFIGS[job["config"]], *job["overrides"]]  # fmt: skip
    if job["report_only"]:
        metrics = finished(folder, job["iterations"])
    else:
        metrics = train_in_folder(folder, overrides, job["iterations"])
    csv = folder / "csv" / "metrics.csv"
    curve = read_curve(csv, job["eval_every"]) if csv.is_file() else []
    final = (metrics or {}).get("mode_coverage") or {}
    return {**job, "folder": str(folder), "finished": metrics is not None, "curve": curve,
            "modes": final.get("modes", math.nan), "hq": final.get("hq", math.nan)}  # fmt: skip


def t_interval(values: list[float], bounds: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, float]:
    """The 95 % t-interval of the mean, clipped to the metric's range ``bounds`` (nan with fewer than two values)."""
    from scipy import stats

    values = [v for v in values if math.isfinite(v)]
    if len(values) < 2:
        return math.nan, math.nan
    mean, half = statistics.mean(values), stats.t.ppf(0.975, len(values) - 1) * mean_se_sd(values)[1]
    return max(mean - half, bounds[0]), min(mean + half, bounds[1])


#: Modes in each preset's mixture (the upper end of a modes interval).
N_MODES = {"ring_veegan": 8, "grid_veegan": 25}


def cell(values: list[float], published: float | None, digits: int, bounds=(-math.inf, math.inf)) -> list[str]:
    mean, se, _ = mean_se_sd(values)
    low, high = t_interval(values, bounds)
    inside = "—" if published is None or math.isnan(low) else ("yes" if low <= published <= high else "**no**")
    pub = "—" if published is None else f"{published:g}"
    return [f"{mean:.{digits}f} ± {se:.{digits}f}", f"[{low:.{digits}f}, {high:.{digits}f}]", pub, inside]


def summarise(rows: list[dict]) -> str:
    lines = [
        "| preset | row | seeds finished | per-seed modes | modes mean ± s.e. | 95 % CI | published | inside "
        "| per-seed % HQ | % HQ mean ± s.e. | 95 % CI | published | inside |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset in dict.fromkeys(r["preset"] for r in rows):
        for name in dict.fromkeys(r["row"] for r in rows if r["preset"] == preset):
            sel = sorted((r for r in rows if r["preset"] == preset and r["row"] == name and r["finished"]),
                         key=lambda r: r["seed"])  # fmt: skip
            total = sum(r["preset"] == preset and r["row"] == name for r in rows)
            published = PUBLISHED.get(preset, {}).get(name.split("+")[0])
            modes, hq = [float(r["modes"]) for r in sel], [float(r["hq"]) for r in sel]
            lines.append(
                f"| {preset} | {name} | {len(sel)} of {total} | {', '.join(f'{m:g}' for m in modes)} | "
                + " | ".join(cell(modes, published and published[0], 1, (0.0, N_MODES.get(preset, math.inf))))
                + f" | {', '.join(f'{h:.1f}' for h in hq)} | "
                + " | ".join(cell(hq, published and published[1], 1, (0.0, 100.0)))
                + " |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["ring_veegan", "grid_veegan"], choices=list(PUBLISHED))
    parser.add_argument("--configs", nargs="+", default=list(ROWS), choices=list(CONFIGS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=25_000, help="per job (the protocol's: 25 000)")
    parser.add_argument("--eval-every", type=int, default=2500, help="modes / HQ scored every this many iterations")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", type=Path, default=OUT / "veegan_runs", help="the jobs' run folders")
    parser.add_argument("--tag", default="", help="names a variant's folders and rows (with --overrides)")
    parser.add_argument("--overrides", nargs="*", default=[], help="extra Hydra overrides of every job")
    parser.add_argument("--report-only", action="store_true", help="read the finished jobs, train nothing")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.overrides and not args.tag:
        parser.error("--overrides needs --tag NAME (a variant's runs get folders and rows of their own)")
    jobs = [
        {"preset": preset, "config": config, "row": config + (f"+{args.tag}" if args.tag else ""), "seed": seed,
         "iterations": args.iterations, "eval_every": args.eval_every, "overrides": args.overrides,
         "tag": args.tag, "root": str(args.root), "report_only": args.report_only}
        for preset in args.presets
        for config in args.configs
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]  # fmt: skip
    with ThreadPoolExecutor(args.workers) as pool:
        rows = []
        for row in pool.map(run_job, jobs):
            rows.append(row)
            state = "finished" if row["finished"] else "NOT finished"
            print(f"{row['preset']} {row['row']} seed {row['seed']}: modes {row['modes']} HQ {row['hq']} % ({state})",
                  flush=True)  # fmt: skip
    table = summarise(rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "veegan" + (f"_{args.tag}" if args.tag else "")
    (args.out / f"{stem}.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out),
                                                        "root": str(args.root)}, "rows": rows}, indent=1))  # fmt: skip
    (args.out / f"{stem}.md").write_text(table + "\n")
    plot_curves(rows, args.out / f"{stem}_curves.png", configs=list(dict.fromkeys(r["config"] for r in rows)))
    for preset in args.presets:
        for name in dict.fromkeys(r["row"] for r in rows):
            first = next((r for r in rows if r["preset"] == preset and r["row"] == name and r["finished"]), None)
            if first is not None:
                shutil.copy(Path(first["folder"]) / "samples" / "modes_final.png",
                            args.out / f"veegan_{preset}_{name}.png")  # fmt: skip
    print(f"wrote {args.out / stem}.md, .json, _curves.png and the sample figures")


if __name__ == "__main__":
    main()
