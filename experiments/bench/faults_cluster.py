"""Cluster faults (issue #33, RESULTS "Faults on a cluster"): real ``ganlab-train`` processes on the ring (k = 5
unrolled), each case repeated, with counts.

1. A tiny ``$TMPDIR`` (a 512 KB tmpfs): the run completes, every checkpoint written in the run folder, exact.
2. A full disk: the run folder on a small tmpfs that a filler file fills after the first checkpoint; the next
   checkpoint fails: one line naming the path and the free space, exit 4, ``last.ckpt`` still the previous
   generation and loadable, no temporary file left; the filler removed, the same command resumes exactly.
3. Damaged run files: after a SIGTERM, ``metrics.json`` truncated and ``resumes.jsonl`` cut mid-line: the resume sets
   each aside in one line and ends exact.
4. A signal at a random moment of the whole run (training, the last iterations, the final evaluation): one line, the
   phase recorded, the same command completes what is missing, exact; runs that ended before the signal counted.
5. Two "nodes" on loopback (``trainer=ddp_cpu trainer.devices=1 trainer.num_nodes=2``): a hung peer then SIGTERM (exit
   143 within grace + 10 s), a hung peer with no signal (exit 5 within the collective timeout + 10 s), a dead peer
   (exit 5), a peer that never starts (exit 5) — each one line.

Cases 1–2 mount tmpfs filesystems and need root (skipped otherwise, and said so).

    python -m experiments.bench.faults_cluster [--trials 3] [--out experiments/bench/out/faults_cluster.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from experiments.bench.faults import BIN, env, final_state, identical

RING = ["experiment=ring_unrolled", "model.max_iterations=300", "data.iterations_per_epoch=100", "logger=csv",
        "callbacks.mode_coverage.n_samples=500", "trainer.enable_progress_bar=false",
        "callbacks.last_checkpoint.every_n_iterations=25"]  # fmt: skip


def command(run_dir: Path, extra=()) -> list[str]:
    return [str(BIN / "ganlab-train"), *RING, *extra, f"hydra.run.dir={run_dir}"]


def run(run_dir: Path, extra=(), **env_extra) -> subprocess.CompletedProcess:
    return subprocess.run(command(run_dir, extra), env={**env(), **env_extra}, capture_output=True, text=True)


def start(run_dir: Path, extra=(), **env_extra) -> subprocess.Popen:
    return subprocess.Popen(command(run_dir, extra), env={**env(), **env_extra}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def ganlab_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("ganlab-train: error", "[ganlab]"))]


def wait_for(path: Path, proc: subprocess.Popen, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while not path.is_file():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path} never appeared: {proc.communicate()[1][-2000:]}")
        time.sleep(0.05)


@contextmanager
def tmpfs(size: str):
    """A fresh tmpfs of ``size`` (None when mounting is not permitted)."""
    point = Path(tempfile.mkdtemp(prefix="ganlab-tmpfs-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                             capture_output=True).returncode == 0  # fmt: skip
    try:
        yield point if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", str(point)], check=False)
        shutil.rmtree(point, ignore_errors=True)


def same_csv(a: Path, b: Path) -> bool:
    return (a / "csv" / "metrics.csv").read_text() == (b / "csv" / "metrics.csv").read_text()


# ------------------------------------------------------------------------------------------------------------ cases
def tiny_tmpdir(root: Path, straight: dict) -> dict:
    with tmpfs("512k") as tiny:
        if tiny is None:
            return {"skipped": "mounting a tmpfs needs root"}
        result = run(root / "tiny", TMPDIR=str(tiny))
        ok = result.returncode == 0 and identical(final_state(root / "tiny"), straight)
        shutil.rmtree(root / "tiny", ignore_errors=True)
        return {"rc": result.returncode, "exact": ok, "tmpdir_files": sorted(p.name for p in tiny.iterdir())}


def full_disk(root: Path, straight: dict, straight_dir: Path) -> dict:
    with tmpfs("64m") as disk:
        if disk is None:
            return {"skipped": "mounting a tmpfs needs root"}
        run_dir, filler = disk / "run", disk / "filler"
        proc = start(run_dir)
        wait_for(run_dir / "checkpoints" / "last.ckpt", proc)
        free = shutil.disk_usage(disk).free
        with open(filler, "wb") as f:  # leave less room than one checkpoint
            f.write(b"\0" * max(free - 64 * 1024, 0))
        _, err = proc.communicate(timeout=300)
        lines = ganlab_lines(err)
        saved = final_state(run_dir)["ganlab"]["iteration"]
        stale = [p.name for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]
        filler.unlink()
        resumed = run(run_dir)
        exact = resumed.returncode == 0 and identical(final_state(run_dir), straight)
        return {
            "rc": proc.returncode,
            "one_line": len([x for x in lines if "error" in x]) == 1,
            "line": next((x for x in lines if "error" in x), ""),
            "kept_iteration": saved,
            "stale_tmp": stale,
            "resume_exact": exact,
            "history_kept": exact and same_csv(run_dir, straight_dir),
        }


def damaged_files(root: Path, straight: dict) -> dict:
    run_dir = root / "damaged"
    proc = start(run_dir)
    wait_for(run_dir / "checkpoints" / "last.ckpt", proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    metrics = run_dir / "metrics.json"
    metrics.write_bytes(metrics.read_bytes()[:20])
    (run_dir / "resumes.jsonl").write_text('{"time": "x", "checkpoint": "y", "iteration": 1, "changed": {}}\n{"ti')
    resumed = run(run_dir)
    said = sorted({x for x in resumed.stderr.splitlines() if "was damaged" in x})
    exact = resumed.returncode == 0 and identical(final_state(run_dir), straight)
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"rc": resumed.returncode, "set_aside_lines": len(said), "exact": exact}


def random_signal(root: Path, straight: dict, straight_dir: Path, wall_s: float, rng: random.Random) -> dict:
    run_dir = root / f"signal-{rng.randrange(10**9)}"
    proc = start(run_dir)
    wait_for(run_dir / "checkpoints" / "last.ckpt", proc)
    time.sleep(rng.uniform(0.0, wall_s))
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    record = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").is_file() else {}
    phase = (record.get("preempted") or {}).get("phase", "finished before the signal")
    resumed = run(run_dir)
    complete = json.loads((run_dir / "metrics.json").read_text())
    exact = resumed.returncode == 0 and identical(final_state(run_dir), straight) and same_csv(run_dir, straight_dir)
    result = {
        "phase": phase,
        "rc": proc.returncode,
        "lines": len([x for x in ganlab_lines(out) if "SIGTERM" in x]),
        "rerun_rc": resumed.returncode,
        "completed": "preempted" not in complete and "mode_coverage" in complete,
        "exact": exact,
    }
    shutil.rmtree(run_dir, ignore_errors=True)
    return result


def ddp_case(root: Path, case: str, grace_s: float = 2.0, timeout_s: float = 8.0) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_dir = root / f"ddp-{case.replace(' ', '_').replace(',', '').replace('+', 'and')}-{port}"
    extra = ["trainer=ddp_cpu", "trainer.devices=1", "trainer.num_nodes=2", "model.max_iterations=1000000",
             f"callbacks.last_checkpoint.grace_seconds={grace_s}", f"collective_timeout_s={timeout_s}"]  # fmt: skip
    nodes = [start(run_dir, extra, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), NODE_RANK=str(r))
             for r in ((0,) if case == "missing peer" else (0, 1))]  # fmt: skip
    if case != "missing peer":
        wait_for(run_dir / "checkpoints" / "last.ckpt", nodes[0])
        time.sleep(1.0)
        os.kill(nodes[1].pid, signal.SIGKILL if case == "dead peer" else signal.SIGSTOP)
    began = time.monotonic()
    if case == "hung peer + SIGTERM":
        time.sleep(1.0)
        began = time.monotonic()
        nodes[0].send_signal(signal.SIGTERM)
    try:
        _, err = nodes[0].communicate(timeout=180)
    finally:
        for node in nodes[1:]:
            node.kill()
            node.communicate()
    lines = [x for x in ganlab_lines(err) if "error" in x or "blocked" in x]
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"case": case, "rc": nodes[0].returncode, "s": round(time.monotonic() - began, 1), "lines": len(lines),
            "line": lines[0] if lines else ""}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="repeats of each case (random signals: 4 × this)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("experiments/bench/out/faults_cluster.json"))
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        began = time.monotonic()
        reference = run(root / "straight")
        assert reference.returncode == 0, reference.stderr[-3000:]
        wall = time.monotonic() - began
        straight = final_state(root / "straight")
        cases = {
            "tiny $TMPDIR": lambda: tiny_tmpdir(root, straight),
            "full disk": lambda: full_disk(root, straight, root / "straight"),
            "damaged metrics.json + resumes.jsonl": lambda: damaged_files(root, straight),
        }
        for name, case in cases.items():
            results[name] = [case() for _ in range(args.trials)]
            print(name, results[name], flush=True)
        results["signal at a random moment"] = [
            random_signal(root, straight, root / "straight", wall, rng) for _ in range(4 * args.trials)
        ]
        print(results["signal at a random moment"], flush=True)
        for case in ("hung peer + SIGTERM", "hung peer, no signal", "dead peer", "missing peer"):
            results[case] = [ddp_case(root, case) for _ in range(args.trials)]
            print(case, results[case], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(main())
