"""Run files on real cluster storage: checkpoints never pass through $TMPDIR, a full disk is one line with the
previous checkpoint intact and an exact resume, stale temporary files are cleaned, no "-v1" copies (issue #33)."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

import pytest
import torch
from test_resume import CASES, N, assert_identical, fit, optimizer_tensors

import ganlab.composition.checkpoint_io as checkpoint_io
from ganlab.cli.shared import exit_code, one_line_errors
from ganlab.common.durable import StorageFull, write_durably

RING = CASES["ring_unrolled_k2"]


def _no_tmpdir(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device (a full $TMPDIR)")


def test_checkpoints_are_written_without_tmpdir(tmp_path, monkeypatch):
    """With every tempfile call failing as a full node-local /tmp does, the run still writes its checkpoints."""
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, _no_tmpdir)
    module, _ = fit(tmp_path, RING + ["callbacks.last_checkpoint.every_n_iterations=3"])
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert module.iteration == N and saved["ganlab"]["iteration"] == N
    assert not list((tmp_path / "checkpoints").glob("*.tmp"))


def test_write_durably_keeps_the_old_file_when_the_disk_fills(tmp_path):
    target = tmp_path / "last.ckpt"
    target.write_bytes(b"old generation")

    def fill(f):
        f.write(b"x" * 4096)  # a partial file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StorageFull) as info:
        write_durably(target, fill, what="the previous checkpoint")
    message = str(info.value)
    assert "\n" not in message and str(target) in message and " free)" in message and "intact" in message
    assert target.read_bytes() == b"old generation" and sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    assert exit_code(info.value) == 4
    with pytest.raises(SystemExit) as exited, one_line_errors("ganlab-train", tell=lambda line: None):
        raise info.value
    assert exited.value.code == 4


def test_a_full_disk_mid_run_stops_with_the_previous_checkpoint_and_resumes_exactly(tmp_path, monkeypatch):
    """The 3rd checkpoint write hits a full disk: StorageFull, last.ckpt is the 2nd generation, no partial file; the
    resume from it ends bit-identical to an uninterrupted run."""
    straight, straight_trainer = fit(tmp_path / "straight", RING)
    real_save, calls = torch.save, []

    def save_then_fill(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            f.write(b"partial")
            raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0; file write failed")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(checkpoint_io.torch, "save", save_then_fill)
    overrides = RING + ["callbacks.last_checkpoint.every_n_iterations=3", "callbacks.checkpoint=null"]
    with pytest.raises(StorageFull, match=r"cannot write .*last.ckpt: no space left"):
        fit(tmp_path / "run", overrides)
    monkeypatch.setattr(checkpoint_io.torch, "save", real_save)
    folder = tmp_path / "run" / "checkpoints"
    last = folder / "last.ckpt"
    assert torch.load(last, weights_only=True)["ganlab"]["iteration"] == 4  # saved at 3 and 4 (epoch end)
    assert sorted(p.name for p in folder.iterdir()) == ["last.ckpt", "last.prev.ckpt"]
    resumed, resumed_trainer = fit(tmp_path / "run", overrides, ckpt_path=str(last))
    assert resumed.iteration == N
    assert_identical(straight.state_dict(), resumed.state_dict())
    assert_identical(optimizer_tensors(straight_trainer), optimizer_tensors(resumed_trainer))


def test_stale_temporary_files_are_removed_when_a_run_starts(tmp_path, capsys):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    stale = [folder / ".last.ckpt.4242.tmp", folder / "last.prev.ckpt.tmp"]
    for path in stale:
        path.write_bytes(b"left by kill -9")
    keep = folder / "notes.txt"
    keep.write_text("mine")
    fit(tmp_path, RING + ["model.max_iterations=2"])
    assert not any(p.exists() for p in stale) and keep.read_text() == "mine"
    assert capsys.readouterr().out.count("a temporary file left by an interrupted write") == 2


def test_a_resume_in_the_same_folder_keeps_one_file_per_checkpoint(tmp_path):
    """The run is killed after an epoch's files were written but before ``last.ckpt`` was (simulated by resuming
    from the previous generation): the re-run epoch overwrites its own file, no "-v1" copy."""
    overrides = RING + ["callbacks.last_checkpoint.every_n_iterations=3", "callbacks.checkpoint.monitor=null"]
    fit(tmp_path, overrides)
    folder = tmp_path / "checkpoints"
    previous = folder / "last.prev.ckpt"
    assert torch.load(previous, weights_only=True)["ganlab"]["iteration"] == 9  # mid-epoch 2 (4 iterations each)
    (folder / "last.ckpt").unlink()
    previous.rename(folder / "last.ckpt")
    fit(tmp_path, overrides, ckpt_path=str(folder / "last.ckpt"))
    names = sorted(p.name for p in Path(folder).iterdir())
    assert not [n for n in names if "-v" in n], names
    assert [n for n in names if n.startswith("best")] == ["best-epoch002.ckpt"]


def test_a_damaged_resumes_record_is_set_aside_and_its_valid_lines_kept(tmp_path, capsys):
    import json

    from ganlab.preflight.resume_rules import RESUMES, record_resume

    path = tmp_path / RESUMES
    good = json.dumps({"time": "t", "checkpoint": "a", "iteration": 5, "changed": {}})
    path.write_bytes((good + "\n").encode() + b'{"time": "t", "checkpo')  # a write cut by a crash
    record_resume(tmp_path, "b", 10, {"model.max_iterations": [10, 20], "paths.run_dir": ["x", "y"]})
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["iteration"] for e in entries] == [5, 10] and entries[1]["changed"] == {"model.max_iterations": [10, 20]}
    assert (tmp_path / (RESUMES + ".damaged")).read_bytes().endswith(b"checkpo")
    (line,) = capsys.readouterr().err.splitlines()
    assert "was damaged" in line and "1 valid line(s) kept" in line
    record_resume(tmp_path, "c", 20, {})  # a healthy file: appended, nothing set aside again
    assert len(path.read_text().splitlines()) == 3 and not capsys.readouterr().err
