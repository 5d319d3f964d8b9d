"""``metrics.json`` in a run directory: merged atomically, JSON-safe (tensors → numbers, NaN / inf → null)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

from ganlab.common.durable import set_aside, write_durably


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


def read_or_set_aside(path: Path) -> dict:
    """The JSON object at ``path`` ({} when missing). A damaged file (cut by a crash, not JSON, not an object) is
    moved aside to ``<name>.damaged`` with one line on stderr, and the run goes on with a fresh file: a record is
    never the reason a finished training crashes."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            return data
    except (ValueError, UnicodeDecodeError):
        pass
    set_aside(path, "rebuilt (it was not a JSON object)")
    return {}


def write_metrics_json(path: str | os.PathLike, values: dict, drop: tuple[str, ...] = ()) -> dict:
    """Merge ``values`` into the JSON file at ``path`` (and remove the keys ``drop``) — atomic and durable
    (``write_durably``) — and return the result."""
    path = Path(path)
    data = read_or_set_aside(path)
    data.update({k: _plain(v) for k, v in values.items()})
    for key in drop:
        data.pop(key, None)
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    write_durably(path, lambda f: f.write(text.encode()), what=f"the previous {path.name}")
    return data
