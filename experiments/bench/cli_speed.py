"""How fast the entry points say no (issue #18): wall time of refusals, ``--help`` and ``--cfg job`` against
``python -c "import torch"`` measured in the same run (median of ``--repeats``, run alternately).

    python -m experiments.bench.cli_speed [--repeats 5]

Target: each answer ≤ the time of importing torch + 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CASES = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "ganlab-train loss=bogus": [str(BIN / "ganlab-train"), "loss=bogus"],
    "ganlab-train optim.generator.lr=-1": [str(BIN / "ganlab-train"), "optim.generator.lr=-1"],
    "ganlab-train model.unroll_steps=1000000000": [str(BIN / "ganlab-train"), "model.unroll_steps=1000000000"],
    "ganlab-train --help": [str(BIN / "ganlab-train"), "--help"],
    "ganlab-train --cfg job": [str(BIN / "ganlab-train"), "--cfg", "job"],
    "ganlab-eval --help": [str(BIN / "ganlab-eval"), "--help"],
    "ganlab-eval ckpt=x.ckpt n_samples=0": [str(BIN / "ganlab-eval"), "ckpt=x.ckpt", "n_samples=0"],
    "ganlab-latent --help": [str(BIN / "ganlab-latent"), "--help"],
    "ganlab-latent ckpt=x.ckpt n_images=0": [str(BIN / "ganlab-latent"), "ckpt=x.ckpt", "n_images=0"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    times: dict[str, list[float]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for name, command in CASES.items():
                start = time.perf_counter()
                subprocess.run(command, cwd=tmp, env=env, capture_output=True, check=False)
                times[name].append(time.perf_counter() - start)
    torch_s = statistics.median(times["python -c 'import torch'"])
    print(f"| command | median s ({args.repeats} runs) | ÷ import torch | ≤ import torch + 1 s |")
    print("|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        ok = "yes" if median <= torch_s + 1.0 else "NO"
        print(f"| `{name}` | {median:.2f} | {median / torch_s:.2f} | {ok} |")


if __name__ == "__main__":
    main()
