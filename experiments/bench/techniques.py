"""What each issue-#19 technique costs per iteration, against the plain step, measured side by side.

    python -m experiments.bench.techniques [--preset mnist_dcgan] [--iterations 25] [--rounds 3]

Each variant is ``ganlab-train``'s own build of the preset plus the variant's overrides. The variants run in turn,
``--rounds`` times (so a slow phase of the machine hits all of them alike); a variant's time is the median
iteration over its rounds (warm-up iterations dropped), its cost the ratio to the plain step's median from the
same rounds. Writes experiments/bench/out/techniques.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from experiments.bench.checkpoint import OUT, ROOT, IterationTimer, linked_data_root
from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build

WARMUP = 5
VARIANTS = {
    "plain (non-saturating)": [],
    "spectral norm (D)": ["model.discriminator.spectral_norm=true"],
    "EMA of G": ["+model/ema=default"],
    "R1": ["+loss/penalty=r1"],
    "R1, lazy (every 16)": ["+loss/penalty=r1", "loss.penalties.r1.every=16"],
    "R2": ["+loss/penalty=r2"],
    "LeCam": ["+loss/penalty=lecam"],
    "DiffAugment": ["+loss/augment=diffaug"],
    "ADA": ["+loss/augment=ada"],
    "bCR": ["+loss/penalty=bcr"],
    "hinge + SN + EMA": ["loss=hinge", "model.discriminator.spectral_norm=true", "+model/ema=default"],
}


def iteration_times(preset: str, overrides: list[str], data_root: Path, run_dir: Path, iterations: int) -> list[float]:
    settings = [f"experiment={preset}", f"paths.run_dir={run_dir}", f"model.max_iterations={iterations + WARMUP}"]
    settings += ["logger=none", "trainer.enable_progress_bar=false", "callbacks.sample_grid=null"]
    settings += ["callbacks.diagnostics=null"]  # no metric callback: mnist_dcgan has none unless asked
    if preset.startswith(("mnist", "fashion")):
        settings.append(f"data.root={data_root}")
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*settings, *overrides])
    datamodule, module, trainer = build(cfg)
    timer = IterationTimer()
    trainer.callbacks.append(timer)
    trainer.fit(module, datamodule=datamodule)
    return timer.times[WARMUP:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist_dcgan")
    parser.add_argument("--iterations", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=None, help="comma-separated names (default: all)")
    default_root = os.environ.get("GANLAB_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    parser.add_argument("--data-root", default=default_root)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    names = args.variants.split(",") if args.variants else list(VARIANTS)
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        data_root = linked_data_root(Path(args.data_root), Path(tmp))
        for r in range(args.rounds):
            for i, name in enumerate(names):
                run_dir = Path(tmp) / f"r{r}-{i}"
                times[name] += iteration_times(args.preset, VARIANTS[name], data_root, run_dir, args.iterations)
    base = statistics.median(times[names[0]])
    rows = []
    print(f"| technique ({args.preset}, {torch.get_num_threads()} thread) | iteration (ms) | ÷ plain |")
    print("|---|---|---|")
    for name in names:
        median = statistics.median(times[name])
        rows.append({"variant": name, "overrides": VARIANTS[name], "iteration_s": median, "ratio": median / base})
        print(f"| {name} | {median * 1e3:.1f} | {median / base:.2f} |")
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"preset": args.preset, "iterations": args.iterations, "rounds": args.rounds}
    (OUT / "techniques.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
