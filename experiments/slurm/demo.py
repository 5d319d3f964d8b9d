"""Requeue demo on a real Slurm: a 2-job multirun through hydra-submitit-launcher, job 0 requeued mid-training.

    experiments/slurm/cluster.sh start          # once (root): a one-node Slurm on this machine
    .venv/bin/python experiments/slurm/demo.py  # or: make slurm-demo

Steps: submit ``ganlab-train -m hydra/launcher=slurm experiment=ring_unrolled loss=non_saturating,lsgan ...`` in
the background (the submitting process blocks until every job has finished), wait until job 0 has written
``checkpoints/last.ckpt``, ``scontrol requeue`` it, wait for the multirun to finish, then check that
  (a) job 0 started twice (two banners in its appended log, the second with SLURM_RESTART_COUNT=1), resumed from
      its checkpoint (``[ganlab] resuming from``) and kept one job directory across the requeue;
  (b) job 0's final generator and discriminator weights are bit-identical to an uninterrupted local run of the same
      overrides (``ganlab-train`` with the job's ``.hydra/overrides.yaml``);
  and that both jobs wrote ``metrics.json``. Prints PASS / FAIL per check; exits 1 on any FAIL, 2 when no cluster.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STATE_DIR = Path(os.environ.get("GANLAB_SLURM_DIR", "/tmp/ganlab-slurm"))
RESUME_MARK = "[ganlab] resuming from"
BANNER = re.compile(r"\[slurm\] start job=(\S+) restart=(\d+)")
SUBMITIT_START = "Starting with JobEnvironment"
#: Lines of job 0's log worth showing: who got which signal, the requeue, the resume.
SIGNAL_LINES = re.compile(r"Bypassing signal|Caught signal|\[ganlab\] (SIG|resuming)|DUE TO JOB REQUEUE|Requeued job")


def sweep_args(iterations: int, per_epoch: int) -> list[str]:
    return [
        "-m",
        "hydra/launcher=slurm",
        "experiment=ring_unrolled",
        "loss=non_saturating,lsgan",
        f"model.max_iterations={iterations}",
        f"data.iterations_per_epoch={per_epoch}",
        "trainer.enable_progress_bar=false",
    ]


@dataclass
class Report:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, bool(ok), detail))
        print(f"[demo] {'PASS' if ok else 'FAIL'}: {name}{f' ({detail})' if detail else ''}", flush=True)
        return bool(ok)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def base_env(workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "GANLAB_MULTIRUN_DIR": str(workdir / "multirun"),
        "GANLAB_OUTPUT_DIR": str(workdir / "outputs"),
        "OMP_NUM_THREADS": "1",  # the Slurm jobs inherit it (sbatch exports the environment): same math as local
        "MKL_NUM_THREADS": "1",
        "WANDB_MODE": "offline",
    }
    if "SLURM_CONF" not in env and (STATE_DIR / "slurm.conf").exists():
        env["SLURM_CONF"] = str(STATE_DIR / "slurm.conf")
    return env


def local_env(workdir: Path) -> dict[str, str]:
    """The uninterrupted reference run: no Slurm variables (a run dir must not be named after a job)."""
    env = {k: v for k, v in base_env(workdir).items() if not k.startswith("SLURM_") or k == "SLURM_CONF"}
    env["GANLAB_OUTPUT_DIR"] = str(workdir / "local")
    return env


def cluster_problem(env: dict[str, str]) -> str | None:
    if shutil.which("sbatch") is None:
        return "sbatch not found: start a cluster first (experiments/slurm/cluster.sh start)"
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True, timeout=30)
    states = proc.stdout.split()
    if proc.returncode != 0 or not any(s.rstrip("*~#") in ("idle", "mix", "alloc") for s in states):
        return f"no usable Slurm node (sinfo: {(proc.stdout + proc.stderr).strip()[:200]!r}); run cluster.sh start"
    return None


def wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None, poll: float = 0.5):
    """predicate()'s first truthy value, or None after ``timeout`` s or once ``proc`` has exited."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            return predicate() or None
        time.sleep(poll)
    return None


def first(paths) -> Path | None:
    return next(iter(sorted(paths)), None)


def job0_folder(sweep_dir: Path) -> Path | None:
    """``.submitit/<array job>_0``: submitit's folder of job 0 (its name is the Slurm job id)."""
    return first(p for p in (sweep_dir / ".submitit").glob("*_0") if re.fullmatch(r"\d+_0", p.name))


def job_state(job_id: str, env: dict[str, str]) -> str:
    proc = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], env=env, capture_output=True, text=True)
    return proc.stdout.strip() or "gone"


def checkpoint_iteration(path: Path) -> int | None:
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    return (ckpt.get("ganlab") or {}).get("iteration", ckpt.get("global_step"))


def saved_iteration(run_dir: Path) -> int | None:
    """The iteration of ``<run dir>/checkpoints/last.ckpt`` once it exists (None while it does not)."""
    path = run_dir / "checkpoints" / "last.ckpt"
    return checkpoint_iteration(path) if path.is_file() else None


def compare_weights(a: Path, b: Path) -> tuple[bool, str]:
    """torch.equal on every generator / discriminator tensor of two checkpoints' state_dicts."""
    import torch

    sa = torch.load(a, map_location="cpu", weights_only=True)["state_dict"]
    sb = torch.load(b, map_location="cpu", weights_only=True)["state_dict"]
    keys = [k for k in sa if k.startswith(("generator.", "discriminator."))]
    if not keys or sorted(sa) != sorted(sb):
        return False, f"state_dict keys differ or hold no G/D tensors ({len(sa)} vs {len(sb)} keys)"
    differing = [k for k in keys if not torch.equal(sa[k], sb[k])]
    if differing:
        worst = max((sa[k].double() - sb[k].double()).abs().max().item() for k in differing)
        return False, f"{len(differing)}/{len(keys)} tensors differ, max |dw| = {worst:.3g}, e.g. {differing[0]}"
    n_g = sum(k.startswith("generator.") for k in keys)
    return True, f"{n_g} generator + {len(keys) - n_g} discriminator tensors equal"


def read_overrides(run_dir: Path) -> list[str]:
    from omegaconf import OmegaConf

    return [str(o) for o in OmegaConf.load(run_dir / ".hydra" / "overrides.yaml")]


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, help="where the multirun and the local run go (default: a temp dir)")
    parser.add_argument("--iterations", type=int, default=600, help="model.max_iterations of both jobs")
    parser.add_argument("--per-epoch", type=int, default=50, help="data.iterations_per_epoch (last.ckpt per epoch)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the whole multirun")
    args = parser.parse_args(argv)

    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="ganlab-slurm-demo-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = base_env(workdir)
    problem = cluster_problem(env)
    if problem:
        print(f"demo: error: {problem}", file=sys.stderr)
        return 2

    report = Report()
    t0 = time.monotonic()
    submit_log = workdir / "submit.log"
    cmd = [str(BIN / "ganlab-train"), *sweep_args(args.iterations, args.per_epoch)]
    say(f"work dir {workdir}")
    say("submitting: " + " ".join(cmd[1:]))
    with open(submit_log, "w") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    job_id = None
    try:
        multirun_root = workdir / "multirun"
        sweep_dir = wait_for(lambda: first(p.parent for p in multirun_root.glob("*/.submitit")), 120, proc)
        folder = sweep_dir and wait_for(lambda: job0_folder(sweep_dir), 120, proc)
        if folder is None:
            report.check("the multirun was submitted", False, f"see {submit_log}")
            return finish(report, workdir, t0)
        job_id = folder.name
        run_dir = wait_for(lambda: first(p.parent for p in sweep_dir.glob("0_*/.hydra")), 300, proc)
        iteration = run_dir and wait_for(lambda: saved_iteration(run_dir), 600, proc)
        if not iteration or iteration >= args.iterations:
            # Requeueing a job whose training is over only re-runs it: nothing would be tested.
            detail = "none" if not iteration else f"the first one is the final one (iteration {iteration})"
            report.check("job 0 wrote a mid-training checkpoints/last.ckpt", False, f"{detail}; see {folder}")
            return finish(report, workdir, t0)
        state = job_state(job_id, env)
        if state != "RUNNING":
            report.check("job 0 is running when requeued", False, f"{state}; raise --iterations")
            return finish(report, workdir, t0)
        t_requeue = time.monotonic()
        say(f"job {job_id} wrote last.ckpt (iteration {iteration}) after {t_requeue - t0:.0f} s: scontrol requeue")
        subprocess.run(["scontrol", "requeue", job_id], env=env, check=True)
        say("waiting for the multirun to finish")
        try:
            proc.wait(timeout=max(1.0, args.timeout - (time.monotonic() - t0)))
            # The submitter returns once every job left a result; a job requeued after that would still run.
            wait_for(lambda: job_state(job_id, env) == "gone", 120)
        except subprocess.TimeoutExpired:
            report.check("the multirun finished in time", False, f"> {args.timeout:.0f} s")
            return finish(report, workdir, t0)
        t_done = time.monotonic()
        say(f"multirun finished (exit {proc.returncode}) {t_done - t_requeue:.0f} s after the requeue")
    finally:
        stop_process(proc)
        if proc.returncode not in (0, None) and job_id:
            subprocess.run(["scancel", job_id.split("_")[0]], env=env)  # this demo's array job only

    report.check("the multirun exited 0", proc.returncode == 0, f"exit {proc.returncode}; log {submit_log}")
    job_dirs = sorted(p.parent for p in sweep_dir.glob("*_*/.hydra"))
    with_metrics = [d for d in job_dirs if (d / "metrics.json").is_file()]
    report.check("both jobs wrote metrics.json", len(with_metrics) == 2, f"{len(with_metrics)} of {len(job_dirs)}")

    out = folder / f"{job_id}_0_log.out"
    err = folder / f"{job_id}_0_log.err"
    text = "".join(p.read_text(errors="replace") for p in (out, err) if p.exists())
    banners = BANNER.findall(text)
    starts = text.count(SUBMITIT_START)
    restarts = sorted({int(n) for _, n in banners})
    report.check(
        "(a) job 0 ran twice",
        len(banners) >= 2 and 1 in restarts and starts >= 2,
        f"{len(banners)} start banners (SLURM_RESTART_COUNT {restarts}), {starts} submitit starts",
    )
    resumes = [line for line in text.splitlines() if line.startswith(RESUME_MARK)]
    expected = str(run_dir / "checkpoints" / "last.ckpt")
    report.check(
        "(a) job 0 resumed from its checkpoint",
        any(expected in line for line in resumes),
        resumes[0] if resumes else f"no '{RESUME_MARK}' line in {out}",
    )
    job0_dirs = sorted(p.parent for p in multirun_root.glob("*/0_*/.hydra"))
    report.check("(a) job 0 kept one job directory across the requeue", job0_dirs == [run_dir], f"{job0_dirs}")
    for line in text.splitlines():
        if SIGNAL_LINES.search(line):
            say(f"  job 0 log: {line.strip()[:200]}")

    say("uninterrupted local run of job 0's overrides")
    overrides = read_overrides(run_dir)
    t_local = time.monotonic()
    local = subprocess.run(
        [str(BIN / "ganlab-train"), *overrides], cwd=workdir, env=local_env(workdir), capture_output=True, text=True
    )
    say(f"local run: exit {local.returncode} in {time.monotonic() - t_local:.0f} s ({' '.join(overrides)})")
    local_ckpt = first((workdir / "local").rglob("checkpoints/last.ckpt"))
    final_ckpt = run_dir / "checkpoints" / "last.ckpt"
    if local.returncode != 0 or local_ckpt is None or not final_ckpt.is_file():
        report.check("(b) final weights equal the uninterrupted run", False, local.stderr.strip()[-300:])
    else:
        ok, detail = compare_weights(final_ckpt, local_ckpt)
        its = (checkpoint_iteration(final_ckpt), checkpoint_iteration(local_ckpt))
        report.check("(b) final G/D weights bit-identical to the uninterrupted run", ok, f"{detail}; iterations {its}")
    return finish(report, workdir, t0)


def finish(report: Report, workdir: Path, t0: float) -> int:
    failed = [name for name, ok, _ in report.checks if not ok]
    verdict = "PASS" if report.passed else f"FAIL ({len(failed)} of {len(report.checks)} checks: {'; '.join(failed)})"
    say(f"{verdict} in {time.monotonic() - t0:.0f} s; outputs in {workdir}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
