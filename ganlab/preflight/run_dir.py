"""Preflight: a single run's folder belongs to one run. A folder a live run holds is refused, so is one holding a
run with other settings (``ganlab/preflight/resume_rules.py``); the claimed folder's lock is held for the process's
life."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganlab.common.errors import ConfigError


def hold(run_dir) -> None:
    """Hold ``run_dir``'s lock for this process (idempotent); ConfigError when a live run holds it."""
    from ganlab.common.runtime import RunDirBusy, hold_run_dir

    try:
        hold_run_dir(run_dir)
    except RunDirBusy as exc:
        raise ConfigError(f"hydra.run.dir={exc}; accepted: another run directory") from None


def claim_run_dir(cfg: DictConfig, run_dir) -> None:
    """Before Hydra writes anything into a single run's directory: refuse one a live run holds, or one holding a
    run with other settings (a resume changes only what ``resume_rules.MAY_CHANGE`` lists); a run with nothing left
    to train ends here (``NothingToTrain``); then hold its lock for the life of this process."""
    from ganlab.common.runtime import is_busy, secondary_rank
    from ganlab.preflight.resume_rules import check_config_change, check_something_left

    run_dir = Path(str(run_dir))
    if secondary_rank():  # a DDP rank > 0: rank 0 holds the folder
        return
    check_writable(run_dir)
    if not run_dir.is_dir():  # a new folder (``train.run`` locks it once Hydra made it)
        check_something_left(cfg, run_dir)
        return
    busy = is_busy(run_dir)
    if busy:
        raise ConfigError(
            f"hydra.run.dir={run_dir} is in use by a live run ({busy}); accepted: another run directory, "
            "or the same one once that run has ended"
        )
    check_config_change(saved_run_config(run_dir, cfg.get("auto_resume", True)), cfg, f"hydra.run.dir={run_dir}")
    check_something_left(cfg, run_dir)
    hold(run_dir)  # refused if taken between the check and here
    from ganlab.callbacks.metrics_json import read_or_set_aside

    read_or_set_aside(run_dir / "metrics.json")  # a damaged record rebuilt now, not found after the training


def saved_run_config(run_dir, auto_resume: bool = True) -> dict | None:
    """The settings a run directory's run was trained with: its checkpoint's (when it resumes from it), else
    its ``.hydra/config.yaml``; None for an empty directory."""
    from ganlab.composition.checkpoints import LAST_FILE, read_checkpoint, resolve_resume

    run_dir = Path(run_dir)
    if auto_resume and (run_dir / LAST_FILE).parent.is_dir():
        path = resolve_resume(None, run_dir.parent, run_dir, auto_resume)
        if path is not None:
            return (read_checkpoint(path).get("ganlab") or {}).get("config")
    saved = run_dir / ".hydra" / "config.yaml"
    if saved.is_file():
        from ganlab.preflight.resume_rules import plain

        return plain(OmegaConf.load(saved))
    return None


def check_writable(run_dir: Path) -> None:
    """ConfigError unless this process may write ``run_dir`` (or create it in its nearest existing folder)."""
    import os

    here = run_dir.absolute()
    while not here.exists() and here != here.parent:
        here = here.parent
    if not os.access(here, os.W_OK | os.X_OK):
        raise ConfigError(
            f"hydra.run.dir={run_dir} cannot be written ({here} is read-only for this user); accepted: a folder you "
            "can write, e.g. GANLAB_OUTPUT_DIR=<folder>"
        )
