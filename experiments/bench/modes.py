"""Mode-coverage benchmark (issue #2): ring and grid × seeds × {k = 0, first-order k = 5, second-order k = 5}
at a fixed iteration budget, non-saturating loss, through the real config + ``ganlab.cli.train.build``.
Prints a Markdown table beside the published numbers and writes experiments/bench/out/modes.{json,md}.

    python -m experiments.bench.modes [--seeds 5] [--iterations 3000] [--workers 2] [--overrides optim=adam]
"""

from __future__ import annotations

import argparse
import json
import statistics
from multiprocessing import get_context
from pathlib import Path

from experiments.bench.runs import fit_in_temp_dir

OUT = Path(__file__).parent / "out"
CONFIGS = {
    "k0": ["model.unroll_steps=0"],
    "first_order_k5": ["model.unroll_steps=5", "model.unroll_mode=first_order"],
    "second_order_k5": ["model.unroll_steps=5", "model.unroll_mode=second_order"],
}
PUBLISHED = {  # (modes, % high quality)
    "ring": {
        "GAN (VEEGAN T1)": (1, 99.3),
        "Unrolled GAN (VEEGAN T1)": (7.6, 35.6),
        "VEEGAN": (8, 52.9),
        "PacGAN2 (PacGAN T1)": (7.9, 95.6),
    },
    "grid": {
        "GAN (VEEGAN T1)": (3.3, 0.5),
        "Unrolled GAN (VEEGAN T1)": (23.6, 16.0),
        "VEEGAN": (24.6, 40.0),
        "PacGAN4 (PacGAN T1)": (24.8, 93.6),
    },
}


def run_job(job: dict) -> dict:
    overrides = [
        f"experiment={job['dataset']}_gan",
        f"seed={job['seed']}",
        f"model.max_iterations={job['iterations']}",
        f"data.batch_size={job['batch']}",
        "logger=none",
        "callbacks.checkpoint=null",
        "trainer.enable_progress_bar=false",
        *CONFIGS[job["config"]],
        *job["overrides"],
    ]
    result, elapsed = fit_in_temp_dir(overrides, lambda run_dir: json.loads((run_dir / "metrics.json").read_text()))
    return {**job, **result["mode_coverage"], "seconds": elapsed}


def _sd(values) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(rows: list[dict]) -> str:
    lines = [
        "| data | method | modes (mean ± sd) | % HQ (mean ± sd) | per-seed modes | per-seed % HQ | s/run |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in ("ring", "grid"):
        for config in CONFIGS:
            sel = [r for r in rows if r["dataset"] == dataset and r["config"] == config]
            if not sel:
                continue
            modes, hq = [r["modes"] for r in sel], [r["hq"] for r in sel]
            lines.append(
                f"| {dataset} | ganlab {config} "
                f"| {statistics.mean(modes):.1f} ± {_sd(modes):.1f} / {sel[0]['n_modes']} "
                f"| {statistics.mean(hq):.1f} ± {_sd(hq):.1f} | {', '.join(str(m) for m in modes)} "
                f"| {', '.join(f'{h:.1f}' for h in hq)} | {statistics.mean(r['seconds'] for r in sel):.0f} |"
            )
        for name, (m, h) in PUBLISHED[dataset].items():
            lines.append(f"| {dataset} | {name} (published) | {m} | {h} | | | |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--overrides", nargs="*", default=[], help="extra Hydra overrides, e.g. optim=adam")
    args = parser.parse_args()
    jobs = [
        {
            "dataset": d,
            "config": c,
            "seed": s,
            "iterations": args.iterations,
            "batch": args.batch,
            "overrides": args.overrides,
        }
        for d in args.datasets
        for c in args.configs
        for s in range(args.seeds)
    ]
    jobs.sort(key=lambda j: j["config"] != "second_order_k5")  # longest first for better packing
    with get_context("spawn").Pool(args.workers) as pool:
        rows = []
        for row in pool.imap_unordered(run_job, jobs):
            rows.append(row)
            print(
                f"{row['dataset']:4s} {row['config']:16s} seed {row['seed']}: modes {row['modes']}/{row['n_modes']}"
                f" HQ {row['hq']:.1f} % ({row['seconds']:.0f} s)",
                flush=True,
            )
    table = summarise(rows)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "modes.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2) + "\n")
    (OUT / "modes.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
