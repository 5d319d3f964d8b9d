"""Fault injection (issue #17, RESULTS "Reliability"): real ``ganlab-train`` processes, three model families.

1. ``kill -9`` at random moments (after the first checkpoint, before the end): the killed run's folder is then
   resumed as a requeued job would be (the same command, the same ``hydra.run.dir``: the lock died with the
   process, ``last.ckpt`` is picked up). Measured: whether the final weights are bit-identical to an uninterrupted
   run's, the iteration the resume started from, and the work lost (seconds between the newest checkpoint's write
   and the kill; the periodic interval bounds it).
2. SIGTERM / SIGINT / SIGUSR1 mid-run: exit code 128 + signum, the checkpoint at the iteration the signal was
   honoured, an exact resume.
3. ``last.ckpt`` truncated or zeroed after a signal: the resume falls back to ``last.prev.ckpt`` (one warning line)
   and is still exact.
4. Two runs into one folder: the second is refused in one line while the first is alive.

NaN injection at a chosen iteration is covered by ``tests/test_divergence.py`` (a callback poisons one gradient:
the run stops within that iteration, the last finite checkpoint intact).

    python -m experiments.bench.faults --kills 24 --out experiments/bench/out/faults.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

BIN = Path(sys.executable).parent
EVERY = 10  # callbacks.last_checkpoint.every_n_iterations
FAMILIES = {
    "2-D (ring, k = 5 unrolled)": [
        "experiment=ring_unrolled",
        "model.max_iterations=400",
        "data.iterations_per_epoch=100",
        "callbacks.mode_coverage.n_samples=500",
    ],
    "DCGAN (digits)": [
        "experiment=digits_dcgan",
        "model.max_iterations=60",
        "data.batch_size=64",
        "callbacks.sample_grid.n_samples=16",
    ],
    "autoencoder (digits, kurtosis)": [
        "experiment=digits_kurtosis_ae",
        "model.max_iterations=60",
        "data.batch_size=64",
        "callbacks.sample_grid.n_samples=16",
        "callbacks.latent_cdf.n_images=100",
    ],
}
COMMON = ["logger=none", "trainer.enable_progress_bar=false", f"callbacks.last_checkpoint.every_n_iterations={EVERY}"]


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def command(args: list[str], run_dir: Path) -> list[str]:
    return [str(BIN / "ganlab-train"), *args, *COMMON, f"hydra.run.dir={run_dir}"]


def run(args: list[str], run_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command(args, run_dir), env=env(), capture_output=True, text=True, timeout=900)


def final_state(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")


def identical(a: dict, b: dict) -> bool:
    sa, sb = a["state_dict"], b["state_dict"]
    same = sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    return same and a["ganlab"]["iteration"] == b["ganlab"]["iteration"]


def start(args: list[str], run_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command(args, run_dir), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_checkpoint(proc: subprocess.Popen, ckpt: Path, timeout: float = 300) -> float:
    deadline = time.monotonic() + timeout
    while not ckpt.is_file():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"no checkpoint appeared: {proc.communicate()[1][-2000:]}")
        time.sleep(0.02)
    return time.monotonic()


def kill_trial(args: list[str], root: Path, straight: dict, train_seconds: float, rng: random.Random) -> dict | None:
    run_dir = root / f"kill-{rng.randrange(10**9)}"
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    proc = start(args, run_dir)
    first = wait_for_checkpoint(proc, ckpt)
    time.sleep(rng.uniform(0, 0.8 * train_seconds))
    if proc.poll() is not None:
        return None  # finished before the kill: not a trial
    proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    proc.communicate()
    saved = torch.load(ckpt, weights_only=True, map_location="cpu")["ganlab"]["iteration"]
    lost_s = killed_at - ckpt.stat().st_mtime
    resumed = run(args, run_dir)  # the requeued job: same command, same folder
    ok = resumed.returncode == 0 and identical(final_state(run_dir), straight)
    shutil.rmtree(run_dir, ignore_errors=True)
    return {
        "after_s": round(time.monotonic() - first, 2),
        "from_iteration": saved,
        "lost_s": round(lost_s, 3),
        "exact": ok,
        "rc": resumed.returncode,
    }


def signal_trial(args: list[str], root: Path, straight: dict, signum: int, damage: str | None) -> dict:
    run_dir = root / f"sig-{signum}-{damage}"
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    proc = start(args, run_dir)
    wait_for_checkpoint(proc, ckpt)
    time.sleep(0.3)
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=120)
    saved = torch.load(ckpt, weights_only=True, map_location="cpu")["ganlab"]["iteration"]
    said = f"at iteration {saved}: wrote {ckpt}" in out
    if damage == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 3])
    elif damage == "zeroed":
        ckpt.write_bytes(bytes(ckpt.stat().st_size))
    resumed = run(args, run_dir)
    fell_back = "using the previous checkpoint" in resumed.stderr
    ok = resumed.returncode == 0 and identical(final_state(run_dir), straight)
    shutil.rmtree(run_dir, ignore_errors=True)
    return {
        "signal": signal.Signals(signum).name,
        "rc": proc.returncode,
        "checkpoint_iteration": saved,
        "announced": said,
        "damage": damage,
        "fell_back": fell_back,
        "exact": ok,
    }


def two_runs_trial(args: list[str], root: Path) -> dict:
    run_dir = root / "shared"
    first = start([*args, "model.max_iterations=100000"], run_dir)
    wait_for_checkpoint(first, run_dir / "checkpoints" / "last.ckpt")
    began = time.monotonic()
    second = run([*args, "model.max_iterations=100000"], run_dir)
    seconds = time.monotonic() - began
    first.send_signal(signal.SIGKILL)
    first.communicate()
    lines = [line for line in second.stderr.splitlines() if line.startswith("ganlab-train: error:")]
    return {"rc": second.returncode, "one_line": len(lines) == 1, "line": lines[0] if lines else "", "s": seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=24, help="kill -9 trials in all (spread over the families)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("experiments/bench/out/faults.json"))
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    results = {"every_n_iterations": EVERY, "families": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for f, (family, overrides) in enumerate(FAMILIES.items()):
            began = time.monotonic()
            straight = run(overrides, root / f"straight-{f}")
            assert straight.returncode == 0, straight.stderr[-3000:]
            reference = final_state(root / f"straight-{f}")
            wall = time.monotonic() - began
            kills = []
            while len(kills) < -(-args.kills // len(FAMILIES)):
                trial = kill_trial(overrides, root, reference, max(wall - 8.0, 1.0), rng)
                if trial is not None:
                    kills.append(trial)
                    print(family, "kill", trial, flush=True)
            signals = [signal_trial(overrides, root, reference, s, None) for s in (signal.SIGTERM, signal.SIGINT)]
            signals += [signal_trial(overrides, root, reference, signal.SIGUSR1, d) for d in (None, "truncated")]
            signals += [signal_trial(overrides, root, reference, signal.SIGTERM, "zeroed")]
            for trial in signals:
                print(family, "signal", trial, flush=True)
            results["families"][family] = {"straight_wall_s": round(wall, 1), "kills": kills, "signals": signals}
        results["two_runs"] = two_runs_trial(FAMILIES["2-D (ring, k = 5 unrolled)"], root)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results))


def summary(results: dict) -> str:
    rows = [
        "| family | kill -9 trials | exact after resume | resumed from (iterations) | work lost (s): median, max |"
        + " signals (exit code, exact) | damaged last.ckpt → fallback, exact |",
        "|---|---|---|---|---|---|---|",
    ]
    for family, r in results["families"].items():
        kills = r["kills"]
        lost = [k["lost_s"] for k in kills]
        froms = sorted({k["from_iteration"] for k in kills})
        plain = [s for s in r["signals"] if s["damage"] is None]
        damaged = [s for s in r["signals"] if s["damage"]]
        rows.append(
            f"| {family} | {len(kills)} | {sum(k['exact'] for k in kills)}/{len(kills)} | {froms} | "
            f"{statistics.median(lost):.2f}, {max(lost):.2f} | "
            + ", ".join(f"{s['signal']} {s['rc']} {'exact' if s['exact'] else 'DIFFERS'}" for s in plain)
            + " | "
            + ", ".join(
                f"{s['damage']}: {'fallback' if s['fell_back'] else 'NO fallback'} "
                f"{'exact' if s['exact'] else 'DIFFERS'}"
                for s in damaged
            )
            + " |"
        )
    two = results["two_runs"]
    rows.append(
        f"\nTwo runs into one folder: exit {two['rc']}, one line: {two['one_line']} ({two['s']:.1f} s): `{two['line']}`"
    )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
