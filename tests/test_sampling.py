"""EpochBatchSampler: the batch order is a function of (seed, epoch); a loader restored from any point continues
exactly (torchdata's shuffle=True does not across epochs: the control test shows it); ranks shard disjointly."""

from __future__ import annotations

import pytest
import torch
from torchdata.stateful_dataloader import StatefulDataLoader

from ganlab.data import sampling
from ganlab.data.sampling import EpochBatchSampler

N, BATCH, EPOCHS = 26, 4, 3  # 6 full batches an epoch, 2 samples dropped


def loader(sampler=None) -> StatefulDataLoader:
    return StatefulDataLoader(torch.arange(N), batch_sampler=sampler or EpochBatchSampler(N, BATCH, seed=3))


def epochs(dl, n=EPOCHS) -> list[list[list[int]]]:
    return [[b.tolist() for b in dl] for _ in range(n)]


def test_each_epoch_is_a_permutation_fixed_by_seed_and_epoch():
    sampler = EpochBatchSampler(N, BATCH, seed=3)
    runs = epochs(loader(sampler))
    assert len(sampler) == 6 and all(len(e) == 6 for e in runs)
    for epoch, batches in enumerate(runs):
        flat = sum(batches, [])
        assert len(set(flat)) == 24 and all(0 <= i < N for i in flat)
        assert flat == sampler.order(epoch)[:24].tolist()
    assert runs[0] != runs[1] != runs[2]
    assert epochs(loader()) == runs  # same seed, same order
    assert epochs(loader(EpochBatchSampler(N, BATCH, seed=4))) != runs


@pytest.mark.parametrize("consumed", [0, 1, 5, 6, 7, 12, 14])
def test_a_restored_loader_continues_exactly_from_any_point(consumed):
    straight = sum(epochs(loader()), [])
    dl = loader()
    it, seen = iter(dl), []
    while len(seen) < consumed:  # a sized consumer stops at len() without exhausting the iterator
        if len(seen) and len(seen) % 6 == 0:
            it = iter(dl)
        seen.append(next(it).tolist())
    state = dl.state_dict()
    restored = loader()
    restored.load_state_dict(state)
    rest = []
    while len(seen) + len(rest) < len(straight):
        rest.extend(b.tolist() for b in restored)
    assert seen + rest == straight


def test_torchdata_shuffle_does_not_resume_across_epochs():
    """The reason for EpochBatchSampler: a shuffled StatefulDataLoader restored mid-epoch finishes that epoch
    right and then shuffles every later epoch differently from the uninterrupted run."""

    def shuffled():
        return StatefulDataLoader(
            torch.arange(N), batch_size=BATCH, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(1)
        )

    straight = epochs(shuffled(), 2)
    dl = shuffled()
    it = iter(dl)
    first = [next(it).tolist() for _ in range(3)]
    restored = shuffled()
    restored.load_state_dict(dl.state_dict())
    rest_of_epoch = [b.tolist() for b in restored]
    next_epoch = [b.tolist() for b in restored]
    assert first + rest_of_epoch == straight[0]
    assert next_epoch != straight[1]


def test_ranks_get_disjoint_shards_whose_union_is_the_single_process_epoch(monkeypatch):
    single = EpochBatchSampler(N, 2, seed=3).order(0)
    shards = []
    for rank in range(2):
        monkeypatch.setattr(sampling, "_rank_and_world", lambda rank=rank: (rank, 2))
        sampler = EpochBatchSampler(N, 2, seed=3)
        shards.append(sampler.order(0))
        assert len(sampler) == 6  # 13 indices per rank → 6 batches of 2
    assert set(shards[0].tolist()).isdisjoint(shards[1].tolist())
    assert sorted(torch.cat(shards).tolist()) == sorted(single.tolist())


def test_sampling_with_replacement_draws_num_samples():
    sampler = EpochBatchSampler(5, 8, seed=0, replacement=True, num_samples=64)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 8 and all(len(b) == 8 for b in batches)
    assert len(set(sum(batches, []))) <= 5
    assert sampler.state_dict() == {"epoch": 1, "yielded": 0}
