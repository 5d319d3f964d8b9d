"""W&B offline runs read back without the network or an account: a run's transaction log ``run-<id>.wandb``.

The log is LevelDB's log format as W&B writes it: a 7-byte file header (``:W&B``, magic 0xBEE1, version 0), then
32 KiB blocks of chunks, each with a 7-byte header ``<crc32 u32><length u16><type u8>`` (type 1 full, 2 first,
3 middle, 4 last; the CRC is zlib's CRC-32 of the chunk seeded with the CRC of its type byte), a block's last < 7
bytes zero. A chunk sequence is one protobuf ``Record`` of ``wandb.proto.wandb_internal_pb2``. The Python reader W&B
once shipped (``wandb.sdk.internal.datastore``) left the package when its core moved to Go (0.18+); the format and
the protobuf messages stayed, so only the framing is read here (the ``Record`` parsing is W&B's own).

A run killed while writing ends in a partial chunk: reading stops there (everything before it is kept). A chunk
whose CRC does not match is a damaged file: :class:`DamagedLog`.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

BLOCK = 32768
HEADER = struct.Struct("<IHB")  # crc32, length, type
FILE_HEADER = struct.Struct("<4sHB")  # ident, magic, version
IDENT, MAGIC = b":W&B", 0xBEE1
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


class DamagedLog(ValueError):
    """A ``.wandb`` file that is not a W&B transaction log, or whose chunk checksums do not match."""


def _record_class():
    try:
        from wandb.proto.wandb_internal_pb2 import Record
    except ImportError as exc:
        raise ImportError(
            "reading W&B offline runs needs the wandb package, which is not installed; "
            "accepted: pip install 'ganlab[wandb]', or the runs' csv/metrics.csv"
        ) from exc
    return Record


def chunks(data: bytes, name: str = "log") -> Iterator[bytes]:
    """The payloads of the complete records of a transaction log's bytes (a partial tail is dropped)."""
    if len(data) < FILE_HEADER.size:
        return
    ident, magic, _version = FILE_HEADER.unpack_from(data)
    if ident != IDENT or magic != MAGIC:
        raise DamagedLog(f"{name} is not a W&B transaction log (header {data[:7]!r})")
    pos, parts = FILE_HEADER.size, []
    while pos + HEADER.size <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER.size:  # the block's zero trailer
            pos += left
            continue
        crc, length, kind = HEADER.unpack_from(data, pos)
        if kind == 0 and length == 0:  # zero padding: the writer stopped here
            return
        start, pos = pos + HEADER.size, pos + HEADER.size + length
        if pos > len(data):  # killed mid-write
            return
        chunk = data[start:pos]
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc or kind not in (FULL, FIRST, MIDDLE, LAST):
            raise DamagedLog(f"{name}: chunk at byte {start - HEADER.size} fails its checksum (a damaged file)")
        parts = [chunk] if kind in (FULL, FIRST) else [*parts, chunk]
        if kind in (FULL, LAST):
            yield b"".join(parts)
            parts = []


def records(path: Path) -> Iterator:
    """The protobuf ``Record`` messages of one ``run-<id>.wandb`` file, in order."""
    record_class = _record_class()
    for payload in chunks(Path(path).read_bytes(), str(path)):
        record = record_class()
        record.ParseFromString(payload)
        yield record


def history(path: Path) -> list[dict]:
    """Every ``log`` call of the run as a dict of its keys (nested keys joined by ``/``) to their JSON values."""
    rows = []
    for record in records(path):
        if record.WhichOneof("record_type") == "history":
            items = record.history.item
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items})
    return rows


def offline_runs(job_dir: Path) -> list[Path]:
    """The ``run-<id>.wandb`` logs of a run folder's offline W&B runs, oldest first (a resumed offline run is a new
    W&B run in the same folder; ``wandb/latest-run`` is a link to one of them and is skipped)."""
    return sorted(p for run in sorted(Path(job_dir).glob("wandb/offline-run-*")) for p in run.glob("run-*.wandb"))
