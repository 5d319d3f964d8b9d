"""The training batch order, as a pure function of (seed, epoch) with a two-number checkpoint state.

Why not ``shuffle=True`` with a generator: torchdata's StatefulDataLoader restores the *current* epoch exactly,
but the shuffling generator is shared with the loader's per-iterator base seed, so every epoch after a resume
is shuffled differently from an uninterrupted run (measured: all later epochs differ). Here epoch ``e`` is always
``randperm(n)`` (or ``randint`` with replacement) from a generator seeded with ``(seed, e)``; the state saved in
checkpoints is ``{epoch, batches yielded}``. Under DDP each rank takes every ``world``-th index of the epoch's
order, so ranks see disjoint data and the union is the single-process epoch (Lightning's sampler injection is
switched off: ``trainer.use_distributed_sampler=false``).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.distributed as dist


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EpochBatchSampler:
    """Batches of dataset indices for ``StatefulDataLoader(batch_sampler=…)``; stateful (``state_dict``)."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int,
        replacement: bool = False,
        num_samples: int | None = None,
        drop_last: bool = True,
    ):
        if n < 1 or batch_size < 1:
            raise ValueError(f"need a non-empty dataset and batch_size >= 1, got n={n}, batch_size={batch_size}")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.replacement, self.drop_last = replacement, drop_last
        self.num_samples = num_samples if num_samples is not None else n
        self.epoch = 0
        self.yielded = 0  # batches of ``epoch`` already handed out

    def order(self, epoch: int) -> torch.Tensor:
        """This rank's indices of ``epoch`` (the single-process order when not distributed)."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        if self.replacement:
            indices = torch.randint(self.n, (self.num_samples,), generator=generator)
        else:
            indices = torch.randperm(self.n, generator=generator)[: self.num_samples]
        rank, world = _rank_and_world()
        per_rank = len(indices) // world
        return indices[rank : per_rank * world : world]

    def batches(self, epoch: int) -> list[list[int]]:
        indices = self.order(epoch).tolist()
        out = [indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)]
        return out[:-1] if out and self.drop_last and len(out[-1]) < self.batch_size else out

    def __len__(self) -> int:
        per_rank = self.num_samples // _rank_and_world()[1]
        return per_rank // self.batch_size if self.drop_last else -(-per_rank // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches(self.epoch)
        if self.yielded >= len(batches):  # the last epoch was handed out in full (a sized loader stops at len)
            self.epoch, self.yielded = self.epoch + 1, 0
            batches = self.batches(self.epoch)
        while self.yielded < len(batches):
            self.yielded += 1  # counted before handing out: a checkpoint taken after this batch skips it
            yield batches[self.yielded - 1]
        self.epoch, self.yielded = self.epoch + 1, 0

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this at every epoch start with the fit loop's epoch. A checkpoint written at an epoch's
        end is resumed by Lightning as a *finished* epoch, without loading the loader's state: the sampler then
        has to learn the epoch from here (else it replays epoch 0's batches). Mid-epoch the loaded state agrees."""
        if int(epoch) != self.epoch:
            self.epoch, self.yielded = int(epoch), 0

    @property
    def sampler(self) -> EpochBatchSampler:
        """Itself: Lightning looks for ``set_epoch`` on ``loader.batch_sampler.sampler`` (the image loaders pass
        this object as ``batch_sampler``)."""
        return self

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "yielded": self.yielded}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.yielded = int(state["epoch"]), int(state["yielded"])
