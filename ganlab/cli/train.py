"""``ganlab-train``: compose → instantiate → ``trainer.fit(ckpt_path=…)``.

Entry points only compose and instantiate; everything else lives in the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ganlab.cli.shared import exit_code, one_line_errors
from ganlab.common.errors import CONF_DIR, PRIMARY, NothingToTrain
from ganlab.common.path_args import quote_paths
from ganlab.common.runtime import say, set_run_log
from ganlab.composition.build import build, experiment_dir
from ganlab.preflight.command_line import preflight


def resume_checkpoint(cfg: DictConfig, run_dir: Path) -> str | None:
    """The checkpoint this run continues from, or None; says so on stdout."""
    from ganlab.composition.checkpoints import read_checkpoint, resolve_resume
    from ganlab.preflight.resume_rules import check_config_change, record_resume

    path = resolve_resume(cfg.get("ckpt_path"), experiment_dir(cfg), run_dir, cfg.get("auto_resume", True))
    if path is not None:
        checkpoint = read_checkpoint(path)
        state = checkpoint.get("ganlab") or {}
        iteration = state.get("iteration", checkpoint.get("global_step"))
        changed = check_config_change(state.get("config"), cfg, f"the checkpoint {path}")
        record_resume(run_dir, path, iteration, changed)
        listed = f"; changed: {', '.join(k for k in changed if not k.startswith('paths.'))}" if changed else ""
        say(f"[ganlab] resuming from {path} (iteration {iteration}){listed}")
    return path


def run(cfg: DictConfig) -> dict:
    from ganlab.composition.checkpoints import forget_checkpoint
    from ganlab.preflight.run_dir import hold

    run_dir = Path(cfg.paths.run_dir)
    hold(run_dir)  # already held since the preflight for a single run
    set_run_log(run_dir / "train.log")
    if cfg.get("threads"):
        import torch

        torch.set_num_threads(int(cfg.threads))
    ckpt_path = resume_checkpoint(cfg, run_dir)
    datamodule, module, trainer = build(cfg, ckpt_path)
    forget_checkpoint()  # read by the preflight, the resume and the fit check; Lightning loads its own
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except Exception as exc:
        from ganlab.composition.distributed import peer_failure

        lost = peer_failure(exc, *last_checkpoint(run_dir))
        if lost is None:
            raise
        raise lost from exc
    summary_path = run_dir / "metrics.json"
    summary = {}
    if summary_path.exists():
        import json

        summary = json.loads(summary_path.read_text())
    if trainer.is_global_zero:
        say(format_summary(cfg, summary, run_dir))
    return summary


def last_checkpoint(run_dir: Path) -> tuple[str | None, int | None]:
    """(path, iteration) of the run folder's ``last.ckpt`` (None, None without one)."""
    from ganlab.composition.checkpoints import read_checkpoint

    path = run_dir / "checkpoints" / "last.ckpt"
    try:
        return str(path), (read_checkpoint(path).get("ganlab") or {}).get("iteration")
    except Exception:  # noqa: BLE001 - none, or unreadable: say so rather than fail while failing
        return None, None


def format_summary(cfg: DictConfig, summary: dict, run_dir: Path) -> str:
    from ganlab.metrics.evaluator import score_parts

    parts = [f"[ganlab] {cfg.name}: iteration {summary.get('iteration')}"]
    modes = summary.get("mode_coverage")
    if modes:
        parts.append(f"modes {modes['modes']}/{modes['n_modes']}")
        parts.append(f"HQ {modes['hq']:.1f} %")
        if modes.get("mode_kl") is not None:
            parts.append(f"mode KL {modes['mode_kl']:.3f}")
    latent = summary.get("latent")
    if latent:
        parts.append(
            f"latent KS {latent['ks']:.3f} (mean {latent['mean']:.3f}, var {latent['var']:.3f}, "
            f"kurtosis {latent['kurtosis']:.2f})"
        )
    parts += score_parts(summary.get("image_metrics") or {})
    if summary.get("evaluated_with") == "ema":
        parts.append("evaluated with G's EMA")
    if summary.get("val/acc") is not None:
        parts.append(f"test accuracy {summary['val/acc']:.2%}")
    parts.append(f"run dir {run_dir}")
    return " | ".join(parts)


PROG = "ganlab-train"
#: (job directory, one-line error) of the jobs of this process's multirun that failed.
FAILED_JOBS: list[tuple[str, str]] = []


def in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def record_failure(cfg: DictConfig, exc: Exception) -> None:
    """A multirun job failed: ``failed.json`` in its directory, a line on stderr; the other jobs go on."""
    import json
    import traceback

    from ganlab.common.errors import one_line

    run_dir = Path(cfg.paths.run_dir)
    message = one_line(exc) or type(exc).__name__
    details = {"error": message, "type": type(exc).__name__, "traceback": traceback.format_exc()}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "failed.json").write_text(json.dumps(details, indent=2) + "\n")
    if exit_code(exc) is None:  # a crash, not a setting or a divergence
        traceback.print_exc()
    say(f"{PROG}: job {run_dir.name} failed: {message}", error=True)
    FAILED_JOBS.append((str(run_dir), message))


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=PRIMARY)
def _hydra_main(cfg: DictConfig):
    """One run, or one job of a sweep. A sweep's job returns its ``objective`` (``ganlab/report/objective.py``) to a
    search sweeper; a failed job returns NaN there, else ``{"failed": its one line, "run_dir": …}`` (the sweep goes
    on; ganlab's sweeper collects what jobs in other processes return)."""
    from ganlab.common.runtime import silence_unactionable_warnings

    silence_unactionable_warnings()  # again: a parallel launcher's job runs in a process of its own
    failed = True
    try:
        if in_multirun():
            from ganlab.report.objective import objective_value

            try:
                summary = run(cfg)
            except Exception as exc:  # the sweep goes on
                record_failure(cfg, exc)
                if cfg.get("objective"):  # NaN: a search records a failed trial and goes on
                    return objective_value(cfg.objective, None)
                return {"failed": FAILED_JOBS[-1][1], "run_dir": FAILED_JOBS[-1][0]}
            failed = False
            return objective_value(cfg.objective, summary) if cfg.get("objective") else None
        else:
            with one_line_errors(PROG, tell=lambda line: say(line, error=True)):
                run(cfg)
        failed = False
    finally:
        set_run_log(None)
        from ganlab.composition.loggers import uses_wandb

        if uses_wandb(cfg):
            import wandb

            wandb.finish(exit_code=1 if failed else 0)  # once per job: multirun jobs share this process


def main() -> None:
    from ganlab.common.runtime import silence_unactionable_warnings

    if any(arg in ("--help", "-h") for arg in sys.argv[1:]):
        from ganlab.cli.train_help import usage

        print(usage(), end="")
        return
    silence_unactionable_warnings()
    try:
        with one_line_errors(PROG):
            argv = preflight(quote_paths(sys.argv[1:]))  # a multirun job's checkpoint path holds "=" and ","
    except NothingToTrain as done:  # a finished run resumed as it is: not an error, and nothing is written
        print(done, flush=True)
        return
    sys.argv = [sys.argv[0], *argv]
    FAILED_JOBS.clear()  # this call's sweep only (main may run more than once in a process: notebooks, tests)
    _hydra_main()
    if FAILED_JOBS:
        listing = "; ".join(f"{Path(d).name}: {m}" for d, m in FAILED_JOBS)
        print(f"{PROG}: {len(FAILED_JOBS)} job(s) failed ({listing})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
