"""The process group as the techniques with state see it: how many ranks, and sums over them. With one process
(no ``torch.distributed`` group) the sums are the identity and cost nothing."""

from __future__ import annotations

import torch.distributed as dist
from torch import Tensor


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def sum_over_ranks(tensor: Tensor) -> Tensor:
    """``tensor`` summed over the ranks, in place (every rank gets the sum); unchanged with one process."""
    if world_size() > 1:
        dist.all_reduce(tensor)
    return tensor
