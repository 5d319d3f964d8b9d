"""Multi-process (DDP) sanity: every rank must hold the same weights, draw its own noise and see its own data.

``RankConsistencyCheck`` compares the LightningModule's parameters and buffers across ranks at the end of training
(and every ``every_n_epochs``) and records in ``metrics.json``::

    ddp: {world_size, max_abs_diff_params, max_abs_diff_buffers, identical, buffers_identical, buffers_synced,
          noise_distinct, first_batch_distinct}

``identical`` is about parameters, which DDP keeps equal (averaged gradients, same optimizer steps): any difference
is a bug and is warned about. Buffers are reported on their own: with manual optimisation Lightning's DDP never
broadcasts them (measured: a +100 planted in rank 1's BatchNorm statistics decays only by the BN momentum), so
BatchNorm running statistics drift apart per rank; the callback copies rank 0's to every rank at each epoch end.
``noise_distinct``/``first_batch_distinct``: whether the ranks' latent-noise RNG states (after training) and first
training batches all differ; equal ones mean every rank generates the same fakes or trains on the same data.

With one process the callback does nothing (one integer comparison per hook), so it can always be on.

``check_ddp_multirun`` (``ganlab/preflight/ddp_rules.py``): the compose-time refusal of a local Hydra multirun with a
multi-process trainer.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.distributed as dist
from torch import Tensor

from ganlab.callbacks.metrics_json import write_metrics_json

log = logging.getLogger(__name__)

#: Launchers that start every rank of a job themselves (Lightning then does not re-execute argv).


# --------------------------------------------------------------------------- collectives
def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _collective_device(group=None) -> torch.device:
    """Where tensors must live for the process group's backend (NCCL: the current GPU; gloo: CPU)."""
    backend = str(dist.get_backend(group))
    if backend == "nccl" or ("gloo" not in backend and torch.cuda.is_available()):
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _abs_diff(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise |a − b| in float64, 0 where equal (±inf too) or both NaN, inf where only one side is NaN."""
    a64, b64 = a.double(), b.double()
    diff = torch.where(a64 == b64, torch.zeros_like(a64), (a64 - b64).abs())
    diff = torch.where(a64.isnan() & b64.isnan(), torch.zeros_like(diff), diff)
    return diff.nan_to_num(nan=float("inf"))


def max_abs_rank_diff(tensors: Iterable[Tensor], group=None) -> float:
    """max over ranks r and elements of |tensor_r − tensor_0| (rank 0 of ``group``), the same on every rank.

    Every rank must pass tensors of the same dtypes and shapes in the same order (a module's ``parameters()``).
    Rank 0's values are broadcast once per dtype (all tensors of a dtype flattened into one), each rank compares
    its own, and the maximum is all-reduced. One process (or no process group): 0.0.
    """
    tensors = [t.detach() for t in tensors]
    if not _distributed() or not tensors:
        return 0.0
    device = _collective_device(group)
    source = dist.get_global_rank(group, 0) if group is not None else 0
    by_dtype: dict[str, list[Tensor]] = {}
    for t in tensors:
        t = t.to(torch.uint8) if t.dtype == torch.bool else t
        by_dtype.setdefault(str(t.dtype), []).append(t.reshape(-1))
    worst = torch.zeros((), dtype=torch.float64, device=device)
    for dtype in sorted(by_dtype):  # the same order on every rank
        mine = torch.cat([t.to(device) for t in by_dtype[dtype]])
        reference = mine.clone()
        dist.broadcast(reference, src=source, group=group)
        if mine.numel():
            worst = torch.maximum(worst, _abs_diff(mine, reference).max())
    dist.all_reduce(worst, op=dist.ReduceOp.MAX, group=group)
    return float(worst.item())


def digest(value: Tensor | bytes) -> int:
    """A 63-bit content hash of a tensor (dtype, shape and values) or of bytes."""
    if isinstance(value, Tensor):
        t = value.detach().cpu().contiguous()
        payload = f"{t.dtype}{tuple(t.shape)}".encode() + t.reshape(-1).view(torch.uint8).numpy().tobytes()
    else:
        payload = bytes(value)
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "little") >> 1


def gather_ints(value: int, group=None) -> list[int]:
    """``value`` of every rank of ``group``, in rank order (one process: ``[value]``)."""
    if not _distributed():
        return [value]
    device = _collective_device(group)
    mine = torch.tensor([value], dtype=torch.int64, device=device)
    out = [torch.zeros_like(mine) for _ in range(dist.get_world_size(group))]
    dist.all_gather(out, mine, group=group)
    return [int(t.item()) for t in out]


def broadcast_from_rank_zero(tensors: Iterable[Tensor], group=None) -> None:
    """Overwrite every rank's ``tensors`` in place with rank 0's (one process: nothing)."""
    if not _distributed():
        return
    device = _collective_device(group)
    source = dist.get_global_rank(group, 0) if group is not None else 0
    for t in tensors:
        staged = t.detach().to(device)
        dist.broadcast(staged, src=source, group=group)
        if staged is not t:
            t.detach().copy_(staged)


def _first_tensor(batch) -> Tensor | None:
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, list | tuple) and batch and isinstance(batch[0], Tensor):
        return batch[0]
    if isinstance(batch, dict):
        return next((v for v in batch.values() if isinstance(v, Tensor)), None)
    return None


# --------------------------------------------------------------------------- the callback
class RankConsistencyCheck(pl.Callback):
    """Under DDP (world size > 1): checks that the ranks hold identical parameters, draw different noise and got
    different first batches, and writes the comparison into ``<run_dir>/metrics.json`` (``ddp``) on rank 0.

    ``sync_buffers``: at the end of every epoch (its last batch, or the batch that stops training) copy rank 0's
    buffers to every rank, after measuring how far they drifted apart. With manual optimisation Lightning's DDP never
    broadcasts buffers (``require_forward_param_sync`` stays False), so BatchNorm running statistics are per rank;
    training (BN in train mode) does not read them, evaluation in eval mode does: synced, every rank samples from the
    checkpointed (rank 0's) generator. ``every_n_epochs``: also compare (and warn) at the end of every n-th epoch.
    With one process every hook returns after one comparison: the callback can always be on."""

    def __init__(self, run_dir: str | None = None, every_n_epochs: int | None = None, sync_buffers: bool = True):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.every_n_epochs = every_n_epochs
        self.sync_buffers = sync_buffers
        self._first_batch: int | None = None
        self._buffer_drift = 0.0  # the largest max |Δ| of the buffers seen before a sync
        #: The last comparison (every rank), for tests and other callbacks.
        self.result: dict | None = None

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int) -> None:
        if trainer.world_size > 1 and self._first_batch is None:
            first = _first_tensor(batch)
            self._first_batch = digest(first) if first is not None else 0

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx) -> None:
        # before any callback's on_train_epoch_end (sample grids, metrics) and before the epoch's checkpoint
        if trainer.world_size > 1 and self.sync_buffers and (trainer.is_last_batch or trainer.should_stop):
            self.sync(pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        n = self.every_n_epochs
        if trainer.world_size > 1 and n and (trainer.current_epoch + 1) % n == 0:
            self.compare(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # on_train_end, not on_fit_end: the process group is up and the module still on its device
        if trainer.world_size <= 1:
            return
        result = self.compare(trainer, pl_module)
        if trainer.is_global_zero:
            run_dir = self.run_dir or Path(trainer.default_root_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            write_metrics_json(run_dir / "metrics.json", {"ddp": result})

    def sync(self, pl_module: pl.LightningModule) -> None:
        """Measure the buffers' drift, then give every rank rank 0's buffers (a collective)."""
        buffers = [b for _, b in sorted(pl_module.named_buffers())]
        self._buffer_drift = max(self._buffer_drift, max_abs_rank_diff(buffers))
        broadcast_from_rank_zero(buffers)

    def compare(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict:
        """The ``ddp`` record (a collective: every rank must call it); warns on rank 0 when something is off.
        ``max_abs_diff_buffers``: the largest difference seen, before syncs included; ``buffers_identical``: now."""
        params = max_abs_rank_diff(p for _, p in sorted(pl_module.named_parameters()))
        buffers_now = max_abs_rank_diff(b for _, b in sorted(pl_module.named_buffers()))
        noise = getattr(pl_module, "noise", None)
        noise_digests = gather_ints(digest(noise.get_state()) if isinstance(noise, torch.Generator) else 0)
        batch_digests = gather_ints(self._first_batch or 0)
        result = {
            "world_size": trainer.world_size,
            "max_abs_diff_params": params,
            "max_abs_diff_buffers": max(buffers_now, self._buffer_drift),
            "identical": params == 0.0,
            "buffers_identical": buffers_now == 0.0,
            "buffers_synced": self.sync_buffers,
            "noise_distinct": None if not isinstance(noise, torch.Generator) else _all_distinct(noise_digests),
            "first_batch_distinct": None if self._first_batch is None else _all_distinct(batch_digests),
        }
        self.result = result
        if trainer.is_global_zero:
            self._warn(result, trainer.current_epoch)
        return result

    @staticmethod
    def _warn(result: dict, epoch: int) -> None:
        where = f"DDP rank check (epoch {epoch}, {result['world_size']} ranks)"
        if not result["identical"]:
            log.warning(f"{where}: parameters differ across ranks (max |Δ| = {result['max_abs_diff_params']:.3g})")
        if not result["buffers_identical"]:
            log.warning(
                f"{where}: buffers differ across ranks (max |Δ| = {result['max_abs_diff_buffers']:.3g}): BatchNorm "
                "running statistics are per rank; each rank evaluates its own, the checkpoint holds rank 0's"
            )
        if result["noise_distinct"] is False:
            log.warning(f"{where}: ranks share the noise RNG state: every rank generates the same fakes")
        if result["first_batch_distinct"] is False:
            log.warning(f"{where}: ranks got the same first batch: the training data is not sharded")


def _all_distinct(values: list[int]) -> bool:
    return len(set(values)) == len(values)
