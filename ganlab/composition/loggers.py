"""The experiment logger of a run (``conf/logger/*.yaml``), and Weights & Biases run naming and resume.

W&B runs are grouped and named by the OmegaConf resolvers of ``composition/wandb_names.py`` (registered when this
module is imported; ``ganlab.preflight.command_line`` imports it, so they exist before Hydra composes):

- ``${ganlab.wandb_group:<fallback>}``: in a Hydra multirun, the sweep and the job's *cell* —
  ``multirun_<timestamp>:<swept values but the seed>`` (e.g. ``…:loss=hinge``), so the seeds of one configuration
  share a group and W&B's grouping shows their mean and spread —, otherwise ``<fallback>`` (the experiment name);
- ``${ganlab.wandb_name:<run dir>}``: in a multirun, ``<job num>_<the job's values of the swept keys>`` (e.g.
  ``1_loss=hinge``; all its overrides, Hydra's ``override_dirname``, when the sweep is not on the command line;
  ``/`` of group overrides such as ``callbacks/metrics=classifier`` written ``.``), otherwise the run dir's name;
- ``${ganlab.wandb_tags:}``: the experiment name, the loss name and ``k=<unroll_steps>`` when the model unrolls.

Resume (DESIGN.md §2): every checkpoint records its W&B run (``ganlab.callbacks.WandbRunCallback``). Online, a
resumed training continues that run (same id, ``resume="allow"``); offline runs cannot be resumed by id, so a
resumed offline segment is a new run in the same group, tagged ``resumed-from:<old id>``.
"""

from __future__ import annotations

import secrets
import string
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganlab.composition.wandb_names import MAX_TAG_LEN  # importing it registers the ganlab.wandb_* resolvers

WANDB_MODES = ("offline", "online", "disabled")
#: wandb's legacy spellings of the modes.
_MODE_ALIASES = {"dryrun": "offline", "run": "online"}


# --------------------------------------------------------------------------- W&B logger
def new_run_id(length: int = 8) -> str:
    """A fresh W&B run id (lowercase letters and digits, like wandb's own)."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def wandb_mode(mode: str | None) -> str:
    mode = _MODE_ALIASES.get(str(mode or "offline").lower(), str(mode or "offline").lower())
    if mode not in WANDB_MODES:
        raise ValueError(f"logger.wandb.mode={mode} is invalid; accepted: {', '.join(WANDB_MODES)}")
    return mode


def _unique(items) -> list[str]:
    return list(dict.fromkeys(str(i) for i in items if i not in (None, "")))


def wandb_logger(
    project: str = "ganlab",
    entity: str | None = None,
    group: str | None = None,
    name: str | None = None,
    tags: list[str] | None = None,
    auto_tags: list[str] | None = None,
    notes: str | None = None,
    mode: str = "offline",
    save_dir: str = ".",
    log_model: bool | str = False,
    config: dict | None = None,
    resume_record: dict | None = None,
    **init_kwargs,
):
    """A ``WandbLogger`` whose ``wandb.init`` arguments are all fixed here (``logger._wandb_init``), with a run id
    chosen up front so checkpoints can record it before the run starts.

    ``resume_record`` is the ``checkpoint["wandb"]`` of the checkpoint training resumes from: online, the same run
    continues (``id=<old id>, resume="allow"``); offline / disabled, a new run in the old group is tagged
    ``resumed-from:<old id>``. ``init_kwargs`` go to ``wandb.init`` (e.g. ``job_type``)."""
    from pytorch_lightning.loggers import WandbLogger

    mode = wandb_mode(mode)
    if log_model and mode != "online":
        raise ValueError(f"logger.wandb.log_model={log_model} needs logger.wandb.mode=online (checkpoints upload)")
    all_tags = _unique([*(auto_tags or []), *(tags or [])])
    run_id, resume = new_run_id(), None
    if resume_record and resume_record.get("id"):
        old_id = str(resume_record["id"])
        group = resume_record.get("group") or group
        name = resume_record.get("name") or name
        if mode == "online":
            run_id, resume = old_id, "allow"
            project = resume_record.get("project") or project
        else:
            all_tags = _unique([*all_tags, f"resumed-from:{old_id}"])
            note = f"resumed from W&B run {old_id} (offline runs cannot be resumed by id)"
            notes = f"{notes}\n{note}" if notes else note
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    return WandbLogger(
        project=project,
        name=name,
        save_dir=str(save_dir),
        id=run_id,
        log_model=log_model,
        # Not Lightning's ``offline=True``: it rewrites os.environ["WANDB_MODE"], which wandb ignores once set up.
        offline=False,
        entity=entity,
        group=group,
        tags=[t[:MAX_TAG_LEN] for t in all_tags],
        notes=notes,
        mode=mode,
        resume=resume,
        config=config,
        **init_kwargs,
    )


def run_config(cfg: DictConfig) -> dict:
    """The resolved configuration as a plain dict, without Hydra's own node."""
    container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    container.pop("hydra", None)
    return container


def build_logger(cfg: DictConfig, resume_ckpt: str | None = None):
    """The run's loggers (a list; False for none): one per entry of ``cfg.logger`` (``logger=[wandb,tensorboard]``;
    every option but ``none`` keeps the CSV record, ``~logger.csv`` or ``logger.csv=null`` drops it). W&B
    (``ganlab.composition.loggers.wandb_logger``) gets the resolved config and, when ``resume_ckpt`` records a W&B
    run, that run's continuation; the others are ``instantiate``d."""
    from hydra.utils import instantiate

    loggers = []
    for node in (cfg.get("logger") or {}).values():
        if not node:
            continue
        target = str(node.get("_target_", ""))
        if target.endswith("csv_history.CSVHistoryLogger"):  # the CSV record: the history before a resume kept
            every = OmegaConf.select(cfg, "trainer.log_every_n_steps", default=50)
            loggers.append(instantiate(node, resume_ckpt=resume_ckpt, log_every_n_steps=every))
            continue
        if not target.endswith("ganlab.composition.loggers.wandb_logger"):
            loggers.append(instantiate(node))
            continue
        from ganlab.callbacks.wandb_run import wandb_run_record

        record = wandb_run_record(resume_ckpt) if resume_ckpt else None
        # The config is passed outside Hydra: instantiate would build every ``_target_`` inside it.
        factory = instantiate(node, _partial_=True, _convert_="all")
        loggers.append(factory(config=run_config(cfg), resume_record=record))
    return loggers or False


def uses_wandb(cfg: DictConfig) -> bool:
    """Whether the run logs to W&B (``logger=wandb``, alone or beside others)."""
    return any(
        node and str(node.get("_target_", "")).endswith("wandb_logger") for node in (cfg.get("logger") or {}).values()
    )


def logger_callbacks(logger) -> list:
    """Callbacks a logger needs (``train.build`` adds them): W&B's run record in every checkpoint."""
    from pytorch_lightning.loggers import WandbLogger

    loggers = logger if isinstance(logger, list | tuple) else [logger]
    if any(isinstance(lg, WandbLogger) for lg in loggers):
        from ganlab.callbacks.wandb_run import WandbRunCallback

        return [WandbRunCallback()]
    return []
