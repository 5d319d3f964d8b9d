"""What each issue-#19 technique costs per iteration, against the plain step, measured side by side.

    python -m experiments.bench.techniques [--preset mnist_dcgan] [--iterations 25] [--rounds 3]

Each variant is ``ganlab-train``'s own build of the preset plus the variant's overrides. Alternating pairs: in
each of ``--rounds`` rounds, every variant runs right after a plain run (the machine's state — a slow phase, the
allocator — drifts between fits by ±20 % here, so only neighbours are compared); a pair's ratio is the variant's
median iteration over the plain run's (warm-up iterations dropped), a variant's cost the median ratio over the
rounds. Writes experiments/bench/out/techniques.json.
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
    # gradient penalties need a D without batch statistics (preflight/norm_rules.py): layer norm, as WGAN-GP's critic
    "R1": ["+loss/penalty=r1", "model.discriminator.norm=layer"],
    "R1, lazy (every 16)": ["+loss/penalty=r1", "loss.penalties.r1.every=16", "model.discriminator.norm=layer"],
    "R2": ["+loss/penalty=r2", "model.discriminator.norm=layer"],
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
    plain, variants = names[0], names[1:]
    ratios: dict[str, list[float]] = {name: [] for name in variants}
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        data_root = linked_data_root(Path(args.data_root), Path(tmp))
        for r in range(args.rounds):
            for i, name in enumerate(variants):
                pair = []
                for which in (plain, name):
                    run_dir = Path(tmp) / f"r{r}-{i}-{len(pair)}"
                    pair.append(iteration_times(args.preset, VARIANTS[which], data_root, run_dir, args.iterations))
                    times[which] += pair[-1]
                ratios[name].append(statistics.median(pair[1]) / statistics.median(pair[0]))
    rows = [{"variant": plain, "overrides": [], "iteration_s": statistics.median(times[plain]), "ratio": 1.0}]
    print(f"| technique ({args.preset}, {torch.get_num_threads()} thread) | iteration (ms) | ÷ plain (per round) |")
    print("|---|---|---|")
    print(f"| {plain} | {rows[0]['iteration_s'] * 1e3:.1f} | 1 |")
    for name in variants:
        median, ratio = statistics.median(times[name]), statistics.median(ratios[name])
        rows.append({"variant": name, "overrides": VARIANTS[name], "iteration_s": median, "ratio": ratio,
                     "ratios": ratios[name]})  # fmt: skip
        per_round = ", ".join(f"{x:.2f}" for x in ratios[name])
        print(f"| {name} | {median * 1e3:.1f} | {ratio:.2f} ({per_round}) |")
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"preset": args.preset, "iterations": args.iterations, "rounds": args.rounds}
    (OUT / "techniques.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
