"""``ganlab-train``: compose → instantiate → ``trainer.fit(ckpt_path=…)``.

Entry points only compose and instantiate; everything else lives in the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ganlab.compose import build, build_module, cluster_plugins, experiment_dir  # noqa: F401  (public here too)
from ganlab.config import CONF_DIR, PRIMARY, ConfigError, preflight
from ganlab.errors import Diverged
from ganlab.runtime import say, set_run_log


def resume_checkpoint(cfg: DictConfig, run_dir: Path) -> str | None:
    """The checkpoint this run continues from, or None; says so on stdout."""
    from ganlab.checkpoints import read_checkpoint, resolve_resume
    from ganlab.resume_rules import check_config_change, record_resume

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
    from ganlab.checkpoints import forget_checkpoint
    from ganlab.run_dir import hold

    run_dir = Path(cfg.paths.run_dir)
    hold(run_dir)  # already held since the preflight for a single run
    set_run_log(run_dir / "train.log")
    ckpt_path = resume_checkpoint(cfg, run_dir)
    datamodule, module, trainer = build(cfg, ckpt_path)
    forget_checkpoint()  # read by the preflight, the resume and the fit check; Lightning loads its own
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    summary_path = run_dir / "metrics.json"
    summary = {}
    if summary_path.exists():
        import json

        summary = json.loads(summary_path.read_text())
    if trainer.is_global_zero:
        say(format_summary(cfg, summary, run_dir))
    return summary


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
    if summary.get("val/acc") is not None:
        parts.append(f"test accuracy {summary['val/acc']:.2%}")
    parts.append(f"run dir {run_dir}")
    return " | ".join(parts)


#: (job directory, one-line error) of the jobs of this process's multirun that failed.
FAILED_JOBS: list[tuple[str, str]] = []


def user_errors() -> tuple[type[Exception], ...]:
    """Mistakes of the user's (a bad setting, missing files): one line, no traceback."""
    from ganlab.data import DatasetNotFoundError

    return ConfigError, DatasetNotFoundError


def in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def record_failure(cfg: DictConfig, exc: Exception) -> None:
    """A multirun job failed: ``failed.json`` in its directory, a line on stderr; the other jobs go on."""
    import json
    import traceback

    from ganlab.errors import one_line

    run_dir = Path(cfg.paths.run_dir)
    message = one_line(exc) or type(exc).__name__
    details = {"error": message, "type": type(exc).__name__, "traceback": traceback.format_exc()}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "failed.json").write_text(json.dumps(details, indent=2) + "\n")
    if not isinstance(exc, (*user_errors(), Diverged)):
        traceback.print_exc()
    say(f"ganlab-train: job {run_dir.name} failed: {message}", error=True)
    FAILED_JOBS.append((str(run_dir), message))


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=PRIMARY)
def _hydra_main(cfg: DictConfig) -> None:
    failed = True
    try:
        run(cfg)
        failed = False
    except Exception as exc:
        if in_multirun():
            record_failure(cfg, exc)
        elif isinstance(exc, user_errors()):
            say(f"ganlab-train: error: {exc}", error=True)
            sys.exit(2)
        elif isinstance(exc, Diverged):
            say(f"ganlab-train: error: {exc}", error=True)
            sys.exit(3)
        else:
            raise
    finally:
        set_run_log(None)
        if cfg.get("logger") and "wandb" in str(cfg.logger.get("_target_", "")).lower():
            import wandb

            wandb.finish(exit_code=1 if failed else 0)  # once per job: multirun jobs share this process


def main() -> None:
    from ganlab.runtime import silence_unactionable_warnings

    silence_unactionable_warnings()
    try:
        argv = preflight(sys.argv[1:])
    except ConfigError as exc:
        print(f"ganlab-train: error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.argv = [sys.argv[0], *argv]
    _hydra_main()
    if FAILED_JOBS:
        listing = "; ".join(f"{Path(d).name}: {m}" for d, m in FAILED_JOBS)
        print(f"ganlab-train: {len(FAILED_JOBS)} job(s) failed ({listing})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
