"""Image-GAN benchmark (issue #3): presets for one epoch of real MNIST on this machine's CPU.

For each preset: ganlab (``build(cfg)`` → ``trainer.fit``, the code path of ``ganlab-train`` with its default
image callbacks but no logger) vs a plain hand-written PyTorch loop on the same networks, losses, optimizers,
look-ahead and data loader, over the same number of iterations. Reports seconds per epoch, iterations per
second and the ratio plain/ganlab (1.0 = no framework overhead; both timed from the first batch, the whole
``fit`` wall time is reported too), and copies the final sample grid of the
ganlab run to ``experiments/figures/<preset>_1epoch.png`` (full-epoch runs only).

    python -m experiments.bench.images [--presets mnist_dcgan mnist_seed] [--iterations N] [--repeats R]
                                       [--data-root DIR]

``--iterations`` shortens the epoch (default: a full epoch). Data root: ``--data-root``, else
``$GANLAB_DATA_DIR``, else ../shared/data (real MNIST .gz files under MNIST/raw).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build
from ganlab.unroll import lookahead

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).parent / "out"
FIGURES = ROOT / "experiments" / "figures"


def compose_preset(preset: str, run_dir: Path, data_root: Path, iterations: int | None):
    overrides = [
        f"experiment={preset}",
        f"paths.run_dir={run_dir}",
        f"paths.data_root={data_root}",
        "logger=none",
        "trainer.enable_progress_bar=false",
        "trainer.max_epochs=1",
        f"model.max_iterations={iterations if iterations else 'null'}",
        "data.download=false",
    ]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=overrides)


class LoopTimer(pl.Callback):
    """From the first batch to the end of training: the epoch's batches plus its end-of-epoch callbacks
    (sample grid, checkpoint), without the Trainer's start-up (the plain loop's timer starts at its first batch
    too)."""

    start: float | None = None

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if self.start is None:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, module):
        self.elapsed = time.perf_counter() - self.start


def ganlab_epoch(cfg) -> tuple[float, float, int]:
    """(loop seconds, whole-fit seconds, iterations)."""
    datamodule, module, trainer = build(cfg)
    timer = LoopTimer()
    trainer.callbacks.append(timer)
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
    return timer.elapsed, time.perf_counter() - start, module.iteration


def plain_epoch(cfg, iterations: int | None) -> tuple[float, int]:
    """The same algorithm as GANModule, written as the loop a researcher would write by hand: (seconds,
    iterations) over ``iterations`` batches or the whole epoch."""
    torch.manual_seed(cfg.seed)
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    generator, discriminator = instantiate(cfg.model.generator), instantiate(cfg.model.discriminator)
    loss = instantiate(cfg.loss)
    opt_g = instantiate(cfg.optim.generator)(generator.parameters())
    opt_d = instantiate(cfg.optim.discriminator)(discriminator.parameters())
    m = cfg.model
    noise = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    count = 0
    for real, _ in datamodule.train_dataloader():
        if count == iterations:
            break
        count += 1
        n = real.shape[0]
        for _ in range(m.d_steps):
            with torch.no_grad():
                fake = generator(torch.randn(n, m.latent_dim, generator=noise))
            opt_d.zero_grad(set_to_none=True)
            loss.discriminator(discriminator, real, fake, m.real_label).total.backward()
            opt_d.step()
            if loss.constraint is not None:
                loss.constraint.apply_(discriminator.parameters())
        for _ in range(m.g_steps):
            for p in discriminator.parameters():
                p.requires_grad_(False)
            fake = generator(torch.randn(n, m.latent_dim, generator=noise))
            d_fn = discriminator
            if m.unroll_steps:
                detached = fake.detach()

                def d_loss(fn, real=real, detached=detached):
                    return loss.discriminator(fn, real, detached, m.real_label).total

                d_fn = lookahead(discriminator, opt_d, d_loss, m.unroll_steps, False, loss.constraint)
            opt_g.zero_grad(set_to_none=True)
            loss.generator(d_fn, fake)[0].backward()
            opt_g.step()
            for p in discriminator.parameters():
                p.requires_grad_(True)
    return time.perf_counter() - start, count


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["mnist_dcgan", "mnist_seed"])
    parser.add_argument("--iterations", type=int, default=None, help="iterations per run (default: one epoch)")
    parser.add_argument("--repeats", type=int, default=1, help="ganlab/plain pairs, in alternating order")
    default_root = os.environ.get("GANLAB_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    parser.add_argument("--data-root", default=default_root)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    FIGURES.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data_root = Path(tmp) / "data"  # links to the .gz files only: they are unpacked here, never in the source
        raw = data_root / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for gz in (Path(args.data_root).resolve() / "MNIST" / "raw").glob("*.gz"):
            (raw / gz.name).symlink_to(gz)
        for preset in args.presets:
            rows = []
            for repeat in range(args.repeats):
                run_dir = Path(tmp) / f"{preset}-{repeat}"
                cfg = compose_preset(preset, run_dir, data_root, args.iterations)
                timed = {}
                # alternate the order (ganlab first, then plain first, …): this VM's speed drifts between runs
                for which in ("ganlab", "plain") if repeat % 2 == 0 else ("plain", "ganlab"):
                    if which == "ganlab":
                        timed["ganlab_s"], timed["ganlab_fit_s"], iterations = ganlab_epoch(cfg)
                        if repeat == 0 and args.iterations is None:  # the figure shows one full epoch
                            shutil.copy(run_dir / "samples" / "grid_final.png", FIGURES / f"{preset}_1epoch.png")
                    else:
                        timed["plain_s"], plain_iterations = plain_epoch(cfg, args.iterations)
                assert plain_iterations == iterations, (plain_iterations, iterations)
                row = {
                    "preset": preset,
                    "repeat": repeat,
                    "batch_size": cfg.data.batch_size,
                    "iterations": iterations,
                    **{k: round(v, 2) for k, v in timed.items()},
                    "ganlab_it_per_s": round(iterations / timed["ganlab_s"], 2),
                    "plain_it_per_s": round(iterations / timed["plain_s"], 2),
                    "ratio_plain_over_ganlab": round(timed["plain_s"] / timed["ganlab_s"], 3),
                    "threads": torch.get_num_threads(),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
            ratios = sorted(r["ratio_plain_over_ganlab"] for r in rows)
            summary = {
                "preset": preset,
                "ratio_median": round(statistics.median(ratios), 3),
                "ratio_range": [ratios[0], ratios[-1]],
                "ganlab_s_per_epoch_median": statistics.median(r["ganlab_s"] for r in rows)
                if not args.iterations
                else None,
            }
            print(json.dumps(summary), flush=True)
            results.append({"summary": summary, "runs": rows})
    (OUT / "images.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
