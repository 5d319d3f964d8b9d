"""Bounded waits in a multi-process run (issue #33), with two real ``ganlab-train`` processes as two "nodes" on
loopback (``trainer=ddp_cpu trainer.devices=1 trainer.num_nodes=2``, MASTER_ADDR/PORT, NODE_RANK):

- a hung peer (SIGSTOP), then SIGTERM to the other: it exits with 128 + 15 within grace + 10 s, one line naming
  the silent rank (the watchdog: the main thread is blocked in gloo, where Python handlers cannot run);
- a hung peer and no signal: the collective timeout ends the other in one line, exit 5;
- a dead peer (kill -9): one line, exit 5, within seconds;
- a peer that never starts: the rendezvous timeout, one line, exit 5.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import script_env

GRACE_S, TIMEOUT_S = 2, 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(rank: int, run_dir: Path, port: int, cwd: Path) -> subprocess.Popen:
    args = [
        "experiment=ring_unrolled", "trainer=ddp_cpu", "trainer.devices=1", "trainer.num_nodes=2",
        "model.max_iterations=1000000", "data.iterations_per_epoch=20", "data.batch_size=64",
        "callbacks.mode_coverage.n_samples=200", f"callbacks.last_checkpoint.grace_seconds={GRACE_S}",
        f"collective_timeout_s={TIMEOUT_S}", f"hydra.run.dir={run_dir}", "trainer.enable_progress_bar=false",
    ]  # fmt: skip
    env = script_env(cwd, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), NODE_RANK=str(rank))
    return subprocess.Popen(
        [sys.executable, "-m", "ganlab.cli.train", *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def training(run_dir: Path, nodes: list[subprocess.Popen], limit_s: float = 120) -> None:
    """Wait until both ranks are past their first checkpoint (iteration 20)."""
    deadline = time.monotonic() + limit_s
    while not (run_dir / "checkpoints" / "last.ckpt").is_file():
        assert all(p.poll() is None for p in nodes), [p.communicate() for p in nodes]
        assert time.monotonic() < deadline, "the two ranks did not reach their first checkpoint"
        time.sleep(0.5)
    time.sleep(1.0)


def finish(node: subprocess.Popen, limit_s: float) -> tuple[int, float, list[str]]:
    """(exit code, seconds it took, the ganlab lines of its stderr)."""
    started = time.monotonic()
    try:
        _, err = node.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        node.kill()
        pytest.fail(f"still running {limit_s} s later")
    lines = [line for line in err.splitlines() if line.startswith(("[ganlab]", "ganlab-train: error"))]
    return node.returncode, time.monotonic() - started, lines


@pytest.fixture
def pair(tmp_path):
    port, run_dir = free_port(), tmp_path / "run"
    nodes = [start_node(rank, run_dir, port, tmp_path) for rank in (0, 1)]
    training(run_dir, nodes)
    yield nodes
    for node in nodes:
        if node.poll() is None:
            os.kill(node.pid, signal.SIGKILL)
            node.communicate()


def test_sigterm_while_blocked_on_a_hung_peer_exits_within_grace_plus_ten_seconds(pair):
    os.kill(pair[1].pid, signal.SIGSTOP)
    time.sleep(1.0)  # rank 0 is now blocked in a collective
    os.kill(pair[0].pid, signal.SIGTERM)
    code, took, lines = finish(pair[0], GRACE_S + 30)
    assert code == 128 + signal.SIGTERM and took < GRACE_S + 10, (code, took, lines)
    (line,) = [x for x in lines if "still blocked" in x]
    assert "rank 0" in line and "silent: rank 1 (no sign of life" in line and "ckpt_path=" in line


def test_a_hung_peer_ends_the_other_rank_at_the_collective_timeout(pair):
    os.kill(pair[1].pid, signal.SIGSTOP)
    code, took, lines = finish(pair[0], TIMEOUT_S + 30)
    assert code == 5 and took < TIMEOUT_S + 10, (code, took, lines)
    (line,) = lines
    assert line.startswith("ganlab-train: error: rank 0: the distributed run lost a peer (") and "resume" in line


def test_a_dead_peer_ends_the_other_rank_in_one_line(pair):
    os.kill(pair[1].pid, signal.SIGKILL)
    code, took, lines = finish(pair[0], 30)
    assert code == 5 and took < 10, (code, took, lines)
    (line,) = lines
    assert "lost a peer" in line and "last checkpoint" in line and "\n" not in line


def test_a_peer_that_never_starts_ends_the_rank_at_the_rendezvous_timeout(tmp_path):
    node = start_node(0, tmp_path / "run", free_port(), tmp_path)
    code, took, lines = finish(node, 120)
    assert code == 5, (code, lines)
    (line,) = lines
    assert "lost a peer" in line and "waiting for clients" in line and "start every rank again" in line
