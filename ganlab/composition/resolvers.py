"""The OmegaConf resolvers ``conf/`` uses (``${ganlab.run_stamp:}``, ``${ganlab.path_safe:…}``, ``${ganlab.mul:…}``),
registered on import: whatever composes ``conf/`` (the preflight, ``composition/build.py``, a notebook) imports
this first. The W&B naming resolvers live in ``composition/wandb_names.py``."""

from __future__ import annotations

import math

from omegaconf import OmegaConf

from ganlab.common.runtime import slurm_job_id


def run_stamp() -> str:
    """The last part of a single run's directory: ``slurm-<job id>`` inside a Slurm job (a requeued job gets
    its directory, hence its checkpoint, back), else the start time."""
    from datetime import datetime

    job = slurm_job_id()
    return f"slurm-{job}" if job else datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")


#: Longest job folder name kept whole: file systems allow 255 bytes per name, and the job number comes before it.
MAX_NAME_BYTES = 200


def path_safe(text: str) -> str:
    """A job's override string as one directory name: group overrides' '/' (``callbacks/metrics=x``) become '.', and
    a name longer than ``MAX_NAME_BYTES`` (a multirun with many overrides) is cut and ends with a hash of the whole
    string (so two jobs never share a folder; ``.hydra/overrides.yaml`` keeps every override, and ``report.py``
    reads that, not the name)."""
    name = str(text).replace("/", ".")
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    import hashlib

    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    head = name.encode()[: MAX_NAME_BYTES - len(digest) - 1].decode(errors="ignore")
    return f"{head}~{digest}"


OmegaConf.register_new_resolver("ganlab.run_stamp", run_stamp, use_cache=True, replace=True)
OmegaConf.register_new_resolver("ganlab.path_safe", path_safe, replace=True)


def cores() -> int:
    """The CPU cores this process may use (its affinity: a Slurm or cgroup allocation, not the machine's count)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parallel_jobs(threads=None) -> int:
    """``${ganlab.parallel_jobs:${threads}}``: how many jobs run side by side so that jobs × threads = cores."""
    return max(1, cores() // max(1, int(threads or 1)))


OmegaConf.register_new_resolver("ganlab.parallel_jobs", parallel_jobs, replace=True)
#: ``${ganlab.mul:100,${model.discriminator.pack}}``: a product of integers (PacGAN's batch of 100 packs of m samples).
OmegaConf.register_new_resolver("ganlab.mul", lambda *factors: math.prod(int(f) for f in factors), replace=True)
