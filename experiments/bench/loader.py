"""Image loading (issue #20): batches of real MNIST from the decoded uint8 tensor (``ganlab/data/decoded.py``,
what ``ganlab-train`` uses) against the per-image path it replaced (torchvision's MNIST → PIL → ``ToTensor`` →
``Normalize``), through the same ``StatefulDataLoader`` and batch sampler. Alternating rounds, one thread; prints
ms per batch and the ratio, and checks the batches are bit-identical.

    python -m experiments.bench.loader [--batch-size 100] [--batches 100] [--rounds 5] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
from torchdata.stateful_dataloader import StatefulDataLoader
from torchvision import datasets

from ganlab.data import MNISTDataModule
from ganlab.data.sampling import EpochBatchSampler

ROOT = Path(__file__).resolve().parents[2]


def ms_per_batch(loader, batches: int) -> float:
    it = iter(loader)
    next(it)  # the first batch pays the iterator's start-up
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return (time.perf_counter() - start) / batches * 1e3


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.bench.loader", description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    default_root = os.environ.get("GANLAB_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    parser.add_argument("--data-root", default=default_root)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dm = MNISTDataModule(root=args.data_root, batch_size=args.batch_size, download=False)
    start = time.perf_counter()
    dm.setup()
    setup_s = time.perf_counter() - start
    per_image = datasets.MNIST(args.data_root, train=True, download=False, transform=dm.transform())
    old = StatefulDataLoader(per_image, batch_sampler=EpochBatchSampler(len(per_image), args.batch_size, seed=0))
    new = dm.train_dataloader()
    a, b = next(iter(old)), next(iter(new))
    identical = torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    decoded, reference = [], []
    for _ in range(args.rounds):
        decoded.append(ms_per_batch(new, args.batches))
        reference.append(ms_per_batch(old, args.batches))
    d, r = statistics.median(decoded), statistics.median(reference)
    print(f"MNIST, batch {args.batch_size}, {args.batches} batches × {args.rounds} alternating rounds, one thread")
    print(f"decoded uint8 tensor: {d:.2f} ms per batch (rounds: {', '.join(f'{v:.2f}' for v in decoded)})")
    print(f"per-image PIL path:   {r:.2f} ms per batch (rounds: {', '.join(f'{v:.2f}' for v in reference)})")
    print(
        f"speed-up {r / d:.1f}x; decoding the 60 000 training images once: {setup_s:.2f} s; bit-identical: {identical}"
    )
    if not identical:
        raise SystemExit("the decoded batch differs from the per-image one")


if __name__ == "__main__":
    main()
