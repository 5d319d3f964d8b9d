"""A signal honoured even while the main thread is blocked in C++ (issue #33).

Python runs signal handlers in the main thread between bytecodes: a rank blocked in a collective that waits on a hung
peer (gloo, NCCL) never runs them, and ignores SIGTERM until torch's collective timeout (30 min by default). The C-level
handler still runs, and ``signal.set_wakeup_fd`` makes it write the signal's number to a socket at once. A daemon
thread reads that socket: after a watched signal it waits ``deadline_s`` (the checkpoint callback's grace period and
then some), and if the process is still alive and the watchdog not disarmed, it writes one line — naming the ranks
whose heartbeat stopped, from the process group's store — and ends the process with ``os._exit(128 + signum)``,
writing nothing else (the last checkpoint on disk is the one to resume from). Every rank beats at most once a second
(``beat``): one small write to the c10d store.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable

from ganlab.common.runtime import say

ALIVE_EVERY_S = 1.0

BEAT_KEY = "ganlab/heartbeat/{rank}"  # "<iteration> <time>", from the main thread (progress)
ALIVE_KEY = "ganlab/alive/{rank}"  # "<time>", from the watchdog thread (a live process, even one blocked in C++)


def _store():
    """The default process group's c10d store, or None (one process, or torch without it)."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.distributed_c10d._get_default_store()
    except Exception:  # noqa: BLE001 - diagnostics only
        return None
    return None


def silent_ranks(world_size: int, rank: int, timeout_s: float = 2.0) -> str:
    """The peers that show no sign of life (their watchdog thread stopped writing: a stopped, dead or wedged process),
    e.g. "rank 1 (no sign of life for 31 s; last progress at iteration 340)"; "unknown" when the store does not
    answer (its host may be the silent one)."""
    store = _store()
    if store is None or world_size < 2:
        return "unknown"
    from datetime import timedelta

    def read(key: str) -> list[str]:
        return store.get(key).decode().split() if store.check([key]) else []

    try:
        store.set_timeout(timedelta(seconds=timeout_s))
        alive = {r: read(ALIVE_KEY.format(rank=r)) for r in range(world_size) if r != rank}
        progress = {r: read(BEAT_KEY.format(rank=r)) for r in alive}
    except Exception:  # noqa: BLE001 - a store that does not answer in time
        return "unknown (the store does not answer)"
    now = time.time()
    silent = []
    for r, stamp in alive.items():
        quiet = now - float(stamp[0]) if stamp else float("inf")
        if quiet > 3 * ALIVE_EVERY_S:
            since = f"{quiet:.0f} s" if stamp else "ever"
            at = f"; last progress at iteration {progress[r][0]}" if progress[r] else ""
            silent.append(f"rank {r} (no sign of life for {since}{at})")
    return ", ".join(silent) if silent else "none (every peer is alive: one is stuck inside the collective)"


def hang_line(signum: int, rank: int, world_size: int, deadline_s: float, resumes: str | None) -> str:
    """The line of a process still blocked ``deadline_s`` after ``signum`` (``resumes``: the checkpoint to resume
    from, None before the first)."""
    where = (
        f"in a collective waiting on a peer; silent: {silent_ranks(world_size, rank)}"
        if world_size > 1
        else "outside Python"
    )
    return (
        f"[ganlab] {signal.Signals(signum).name}: rank {rank} still blocked {deadline_s:g} s after the signal "
        f"({where}); exited without a new checkpoint; resume every rank with the same command: "
        f"{resumes or 'a fresh start'}"
    )


class SignalWatchdog:
    """Arm in the main thread (``start``), disarm when the run ends or fails (``stop``); see the module's text."""

    def __init__(self, signals: Iterable[int], deadline_s: float, describe: Callable[[int], str], rank: int = 0):
        self.rank = rank
        self.signals = {int(s) for s in signals}
        self.deadline_s = deadline_s
        self.describe = describe  # signum → the line (called from the watchdog thread)
        self._disarmed = threading.Event()
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        self._previous_fd = -1
        self._last_beat = 0.0
        self._deadline = float("inf")

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # set_wakeup_fd works in the main thread only; a run elsewhere keeps the Python-level handling
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="ganlab-signal-watchdog", daemon=True).start()

    def stop(self) -> None:
        self._disarmed.set()
        if self._writer is not None and threading.current_thread() is threading.main_thread():
            signal.set_wakeup_fd(self._previous_fd)
            self._writer.close()  # the reader sees end-of-file and the thread ends
            self._writer = None

    def progress(self) -> None:
        """The main thread is running Python after the signal (e.g. about to write the checkpoint): the deadline
        restarts from now, so a slow but live save is not cut; a collective that blocks it still ends bounded."""
        if self._deadline != float("inf"):
            self._deadline = time.monotonic() + self.deadline_s

    def beat(self, iteration: int) -> None:
        """Record this rank's progress in the store (at most once a second)."""
        now = time.time()
        if now - self._last_beat < 1.0:
            return
        self._last_beat = now
        store = _store()
        if store is not None:
            store.set(BEAT_KEY.format(rank=self.rank), f"{iteration} {now}")

    def _watch(self) -> None:
        reader = self._reader
        reader.settimeout(ALIVE_EVERY_S)
        while True:
            try:
                data = reader.recv(64)
            except TimeoutError:
                self._alive()
                continue
            except OSError:
                return
            if not data or self._disarmed.is_set():
                return
            watched = [s for s in data if s in self.signals]
            if watched:
                break  # (other signals, e.g. the grace period's SIGALRM, are not ours to judge)
        self._deadline = time.monotonic() + self.deadline_s
        while time.monotonic() < self._deadline:
            if self._disarmed.wait(min(max(self._deadline - time.monotonic(), 0.0), ALIVE_EVERY_S)):
                return  # the run ended (checkpoint written, or abandoned) in time
            self._alive()
        say(self.describe(watched[0]), error=True)
        os._exit(128 + watched[0])

    def _alive(self) -> None:
        store = _store()
        if store is not None:
            with contextlib.suppress(Exception):  # the store's host may be gone: the collective will say so
                store.set(ALIVE_KEY.format(rank=self.rank), str(time.time()))
