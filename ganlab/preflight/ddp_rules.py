"""Preflight: which trainer settings start ranks by re-executing the command line, and the refusal of a local
multirun of such a trainer. Imports no Lightning or torch (it runs before anything heavy is loaded)."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

RANK_STARTING_LAUNCHERS = ("slurm", "submitit_slurm")


def _processes_per_job(trainer: DictConfig | dict) -> int | None:
    """Processes Lightning would start for one job (None: unknown until run time, e.g. ``devices: -1``)."""
    devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1) or 1
    if isinstance(devices, list | tuple) or OmegaConf.is_list(devices):
        count = len(devices)
    elif isinstance(devices, int):
        count = devices if devices > 0 else None
    elif isinstance(devices, str) and devices.strip().isdigit():
        count = int(devices)
    elif isinstance(devices, str) and "," in devices:
        count = len([d for d in devices.split(",") if d.strip()])
    else:  # "auto", -1, "-1"
        count = None
    return None if count is None else count * int(nodes)


def launches_ranks(trainer: DictConfig | dict | None) -> bool:
    """Whether this trainer config makes Lightning start ranks by re-executing the command line: a DDP-like strategy
    (or ``auto``, which becomes DDP) with more than one process, or a device count only known at run time. The
    spawn/fork strategies (``ddp_spawn…``) start functions, not the command line."""
    if not trainer:
        return False
    strategy = str(trainer.get("strategy", "auto") or "auto").lower()
    if any(word in strategy for word in ("spawn", "fork", "notebook")):
        return False
    processes = _processes_per_job(trainer)
    if strategy == "auto":  # Lightning picks DDP for several devices
        accelerator = str(trainer.get("accelerator", "auto")).lower()
        return processes > 1 if processes is not None else accelerator not in ("cpu", "mps")
    if not any(word in strategy for word in ("ddp", "fsdp", "deepspeed")):
        return False
    return processes is None or processes > 1


def check_ddp_multirun(
    cfg: DictConfig, multirun: bool, launcher: str | None, tasks_per_node: int | None = None
) -> None:
    """ConfigError for a LOCAL multirun (``-m`` with Hydra's basic/joblib launcher) of a multi-process trainer:
    Lightning starts ranks 1.. by re-executing the command line, ``-m`` included, so every rank runs a sweep of its
    own and the jobs pair up only while all ranks stay in lockstep (Lightning #11300). Accepted:
    ``hydra/launcher=slurm`` (submitit starts the ranks; ``tasks_per_node``, when given, must then equal the
    processes per node) or one process per job. ``launcher``: the ``hydra/launcher`` choice (None: basic)."""
    from ganlab.common.errors import ConfigError

    trainer = cfg.get("trainer")
    if not multirun or not launches_ranks(trainer):
        return
    launcher = (launcher or "basic").rsplit("/", 1)[-1]
    devices = trainer.get("devices")
    if launcher in RANK_STARTING_LAUNCHERS:
        per_node = _processes_per_job({"devices": devices, "num_nodes": 1})
        if tasks_per_node is not None and per_node is not None and tasks_per_node != per_node:
            raise ConfigError(
                f"hydra.launcher.tasks_per_node={tasks_per_node} does not match trainer.devices={devices}: submitit "
                f"starts one rank per task; accepted: hydra.launcher.tasks_per_node={per_node}"
            )
        return
    raise ConfigError(
        f"trainer.strategy={trainer.get('strategy')} with trainer.devices={devices} cannot run in a local multirun "
        f"(hydra/launcher={launcher}): Lightning re-executes the command line, -m included, to start each rank "
        "(Lightning #11300); accepted: hydra/launcher=slurm (submitit starts the ranks), or one process per job "
        "(trainer=cpu|gpu or trainer.devices=1), or single runs without -m"
    )
