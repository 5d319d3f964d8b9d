"""Reading W&B offline runs back (``ganlab/report/wandb_offline.py``): the LevelDB-log framing against an
independent writer of the format (records spanning blocks, a killed writer's partial tail, a damaged chunk), W&B's
own protobuf ``Record`` for the payloads, and ``ganlab-report curves --source wandb`` on a folder of two offline runs
(a resume)."""

from __future__ import annotations

import json
import struct
import sys
import zlib
from pathlib import Path

import pytest

from ganlab.report import curves, sources, wandb_offline

pb = pytest.importorskip("wandb.proto.wandb_internal_pb2")


def frame(payloads: list[bytes], block: int = 32768) -> bytes:
    """A transaction log as W&B writes it (the spec, written out independently of the reader)."""
    out = bytearray(struct.pack("<4sHB", b":W&B", 0xBEE1, 0))
    for payload in payloads:
        rest, first = payload, True
        while True:
            left = block - len(out) % block
            if left < 7:
                out += b"\0" * left
                continue
            room = left - 7
            piece, rest = rest[:room], rest[room:]
            kind = (1 if not rest else 2) if first else (4 if not rest else 3)
            crc = zlib.crc32(piece, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF
            out += struct.pack("<IHB", crc, len(piece), kind) + piece
            first = False
            if not rest:
                break
    return bytes(out)


def history_record(step: int, **values) -> bytes:
    record = pb.Record()
    for key, value in {**values, "trainer/global_step": step}.items():
        item = record.history.item.add()
        item.key = key
        item.value_json = json.dumps(value)
    return record.SerializeToString()


def test_framing_round_trips_records_across_blocks_and_drops_a_partial_tail():
    payloads = [b"a" * 10, b"b" * 100_000, b"", b"c" * 32_761, b"d" * 5]  # one spans four blocks, one fills a block
    data = frame(payloads)
    assert list(wandb_offline.chunks(data)) == payloads
    assert list(wandb_offline.chunks(data[:-3])) == payloads[:-1]  # killed mid-write: the rest is kept
    assert list(wandb_offline.chunks(data + b"\0" * 20)) == payloads  # zero padding


def test_a_damaged_chunk_or_a_foreign_file_is_refused():
    data = bytearray(frame([b"x" * 50, b"y" * 50]))
    data[7 + 7 + 10] ^= 0xFF  # a byte of the first payload
    with pytest.raises(wandb_offline.DamagedLog, match="checksum"):
        list(wandb_offline.chunks(bytes(data), "run-x.wandb"))
    with pytest.raises(wandb_offline.DamagedLog, match="not a W&B transaction log"):
        list(wandb_offline.chunks(b"PK\x03\x04 a zip file"))


def offline_run(job: Path, stamp: str, rows: list[bytes]) -> None:
    folder = job / "wandb" / f"offline-run-{stamp}-abc{stamp[-2:]}"
    folder.mkdir(parents=True)
    (folder / f"run-abc{stamp[-2:]}.wandb").write_bytes(frame(rows))


def test_curves_from_offline_runs_join_a_resumed_run_and_the_later_value_wins(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    for seed in (0, 1):
        job = sweep / f"{seed}_seed={seed}"
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
        (job / ".hydra" / "config.yaml").write_text(f"seed: {seed}\nloss:\n  name: minimax\n")
        first = [history_record(99, **{"train/d_loss": 0.5}), history_record(99, **{"val/hq": 10.0 + seed})]
        first.append(history_record(199, **{"val/hq": 999.0}))  # the killed run's last value, redone after resume
        offline_run(job, "20261207_100000", first)
        offline_run(job, "20261207_110000", [history_record(199, **{"val/hq": 30.0 + seed})])
        (job / "wandb" / "latest-run").symlink_to(job / "wandb" / "offline-run-20261207_110000-abc00")
    assert {i: m["hq"] for i, m in sources.from_wandb(sweep / "0_seed=0").items()} == {100: 10.0, 200: 30.0}
    assert curves.main([str(sweep), "--metric", "hq", "--source", "wandb"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "  iteration    100: hq 10.500 ± 0.707   per seed: 10, 11",
        "  iteration    200: hq 30.500 ± 0.707   per seed: 30, 31",
    ]
    assert curves.main([str(sweep), "--metric", "hq"]) == 0  # auto: no CSV, so W&B
    assert capsys.readouterr().out.splitlines()[1:] == out[1:]


def test_reading_offline_runs_without_wandb_names_the_extra(tmp_path, monkeypatch, capsys):
    job = tmp_path / "sweep" / "0_seed=0"
    (job / ".hydra").mkdir(parents=True)
    (tmp_path / "sweep" / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    (job / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    offline_run(job, "20261207_100000", [history_record(9, **{"val/hq": 1.0})])
    monkeypatch.setitem(sys.modules, "wandb.proto.wandb_internal_pb2", None)
    assert curves.main([str(tmp_path / "sweep"), "--metric", "hq", "--source", "wandb"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'ganlab[wandb]'" in err
