"""Multi-process runs with bounded waits (issue #33).

- ``with_collective_timeout``: a DDP strategy named by string (``trainer.strategy: ddp…``) gets the run's
  ``collective_timeout_s`` (torch's default is 30 min): a collective or the rendezvous that waits longer on a peer
  fails instead of hanging.
- ``peer_failure``: a failure of the process group (a peer killed: "Connection reset by peer" within seconds; a hung
  peer: the collective timeout; a peer that never started: the rendezvous timeout) becomes ``PeerLost``, one line
  naming this rank, what failed and where to resume (``ganlab-train`` exits 5 without the C++ teardown, which can
  abort or hang when a peer is gone).
A signal while blocked in a collective is ``callbacks/signal_watchdog.py``'s.
"""

from __future__ import annotations

import os
from datetime import timedelta

from ganlab.common.errors import PeerLost

#: Messages of the process-group backends that mean a peer is gone or silent (gloo, NCCL, the c10d store).
PEER_SIGNS = ("Connection reset by peer", "Connection closed by peer", "Timed out", "timed out", "clients joined",
              "timeout", "Broken pipe", "Connection refused")  # fmt: skip


#: Words that place an error in the process group's backend (gloo's ``pair closure`` comes from DDP's all-reduce
#: inside backward, a plain RuntimeError).
BACKEND_WORDS = ("gloo", "ProcessGroup", "pair closure", "NCCL", "c10d")


def with_collective_timeout(strategy, timeout_s: float | None):
    """``strategy`` as Lightning would build it from its registered name, with ``timeout_s`` for collectives and the
    rendezvous; anything else (an instance, a non-DDP name, no timeout) unchanged."""
    if not isinstance(strategy, str) or timeout_s is None:
        return strategy
    from pytorch_lightning.strategies import DDPStrategy, StrategyRegistry

    if strategy not in StrategyRegistry:  # (the registry's get() builds an instance: read the entry itself)
        return strategy
    entry = StrategyRegistry[strategy]
    if not issubclass(entry["strategy"], DDPStrategy):
        return strategy
    return entry["strategy"](**entry["init_params"], timeout=timedelta(seconds=float(timeout_s)))


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if text.startswith("[") and "] " in text:  # "[/…/gloo/transport/tcp/pair.cc:545] Read error …": the source path
        text = text.split("] ", 1)[1]
    return text.split(". ")[0][:200]


def _rank_and_silent_peers() -> tuple[str, str]:
    """This process's rank, and "; silent: rank … (no sign of life for …)" when the store names silent peers."""
    rank = os.environ.get("RANK") or os.environ.get("NODE_RANK") or "?"
    try:
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return rank, ""
        from ganlab.callbacks.signal_watchdog import silent_ranks

        rank = str(dist.get_rank())
        silent = silent_ranks(dist.get_world_size(), dist.get_rank())
    except Exception:  # noqa: BLE001 - diagnostics only
        return rank, ""
    return rank, f"; silent: {silent}" if silent.startswith("rank") else ""


def peer_failure(exc: BaseException, last_checkpoint: str | None, iteration) -> PeerLost | None:
    """``PeerLost`` when ``exc`` (or its cause) is the process group failing on a peer; None otherwise."""
    try:
        from torch.distributed import DistError
    except ImportError:  # pragma: no cover - torch without distributed
        DistError = ()  # noqa: N806
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        is_backend = isinstance(seen, DistError) or any(word in text for word in BACKEND_WORDS)
        if is_backend and any(sign in text for sign in PEER_SIGNS):
            rank, silent = _rank_and_silent_peers()
            resume = (
                f"resume every rank with the same command (last checkpoint {last_checkpoint}, iteration {iteration})"
                if last_checkpoint
                else "no checkpoint was written yet: start every rank again"
            )
            return PeerLost(f"rank {rank}: the distributed run lost a peer ({_first_line(seen)}{silent}); {resume}")
        seen = seen.__cause__ or seen.__context__
    return None
