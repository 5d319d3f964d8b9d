"""Gloo process groups for the tests: ``run_ranks(fn, world_size, *args)`` runs ``fn(rank, world_size, port, *args)``
in ``world_size`` processes *forked* from the test process, so each rank starts with torch and ganlab already
imported (a spawned rank re-imports them: about 6 s of CPU each). The test process runs one torch thread
(``conftest``), so there is no OpenMP pool for a fork to break; an exception in a rank fails the test with its
traceback, as with ``torch.multiprocessing.spawn``."""

from __future__ import annotations

import socket
from collections.abc import Callable

import torch.multiprocessing as mp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(fn: Callable, world_size: int, *args) -> None:
    """``fn(rank, world_size, port, *args)`` on every rank of a fresh process group's port; returns when all ended."""
    mp.start_processes(fn, args=(world_size, free_port(), *args), nprocs=world_size, join=True, start_method="fork")
