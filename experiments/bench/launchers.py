"""A 12-job ring sweep (2 losses × k ∈ {0, 2} × 3 seeds) with the default launcher (one job after another in one
process) against ``hydra/launcher=parallel`` (the joblib launcher: as many one-thread jobs side by side as there are
cores), on the same machine, alternating, each sweep a real ``ganlab-train -m`` into a fresh sweep folder.

    python -m experiments.bench.launchers [--rounds 2] [--iterations 500]

Prints each sweep's wall time and, per round, default ÷ parallel (the speed-up); the median over rounds is the
figure. Both launchers run the same jobs with the same settings (``threads=1`` for the default one too: what the
parallel jobs get), and the jobs' results are checked equal between the two (the same seeds → the same numbers).
Writes experiments/bench/out/launchers.json. Nothing else may run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
LAUNCHERS = {"default": [], "parallel": ["hydra/launcher=parallel"]}


def sweep(launcher: str, iterations: int, folder: Path) -> float:
    """Wall seconds of one 12-job sweep into ``folder``."""
    command = [
        str(Path(sys.executable).parent / "ganlab-train"), "-m", "seed=0,1,2", "loss=non_saturating,lsgan",
        "model.unroll_steps=0,2", "experiment=ring_gan", f"model.max_iterations={iterations}",
        f"data.iterations_per_epoch={iterations // 2}", "trainer.enable_progress_bar=false", "logger=none",
        "threads=1", f"hydra.sweep.dir={folder}", *LAUNCHERS[launcher],
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{launcher} sweep failed:\n{proc.stderr[-3000:]}")
    return seconds


def results(folder: Path) -> dict[str, tuple]:
    """{job folder name: (modes, hq)} of a finished sweep."""
    out = {}
    for job in sorted(p for p in folder.iterdir() if p.is_dir()):
        coverage = json.loads((job / "metrics.json").read_text())["mode_coverage"]
        out[job.name] = (coverage["modes"], round(coverage["hq"], 6))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=500, help="per job")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganlab-launchers-") as tmp:
        for round_ in range(args.rounds):
            order = list(LAUNCHERS) if round_ % 2 == 0 else list(LAUNCHERS)[::-1]
            times, found = {}, {}
            for launcher in order:
                folder = Path(tmp) / f"r{round_}_{launcher}"
                times[launcher] = sweep(launcher, args.iterations, folder)
                found[launcher] = results(folder)
                print(f"round {round_}: {launcher:8s} {times[launcher]:7.1f} s", flush=True)
            same = found["default"] == found["parallel"]
            ratio = times["default"] / times["parallel"]
            rows.append({"round": round_, "order": order, **times, "speedup": ratio, "same_results": same})
            print(f"round {round_}: speed-up {ratio:.2f}x; same results: {same}", flush=True)
    speedups = [r["speedup"] for r in rows]
    summary = {
        "cores": len(os.sched_getaffinity(0)), "jobs": 12, "iterations": args.iterations, "rounds": rows,
        "median_speedup": statistics.median(speedups),
    }  # fmt: skip
    print(f"median speed-up over {len(rows)} rounds: {summary['median_speedup']:.2f}x on {summary['cores']} cores")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "launchers.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
