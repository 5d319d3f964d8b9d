"""Leaf: facts about the running process (Slurm job id). Imports only the standard library."""

from __future__ import annotations

import os


def slurm_job_id() -> str | None:
    """This Slurm job's id (``<array job>_<task>`` for an array task), None outside Slurm."""
    array_job, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array_job}_{task}" if array_job and task else os.environ.get("SLURM_JOB_ID")
