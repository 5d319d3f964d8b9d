"""``metrics.json`` in a run directory: merged atomically, JSON-safe (tensors → numbers, NaN / inf → null)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch


def _plain(value):
    """JSON-safe value: tensors → numbers, NaN/inf → null, recursively."""
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics_json(path: str | os.PathLike, values: dict) -> dict:
    """Merge ``values`` into the JSON file at ``path`` (atomic replace) and return the result."""
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update({k: _plain(v) for k, v in values.items()})
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")
    tmp.replace(path)
    return data
