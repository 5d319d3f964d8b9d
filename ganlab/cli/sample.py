"""``ganlab-sample ckpt=<file.ckpt> n=10000 [out=DIR] [format=png|npz|both]`` (conf/sample.yaml).

Writes N samples of a trained generator (G or its moving average, a class of a conditional G, truncated latents) into
a new folder: ``images/`` (one PNG per image: ``fidelity --input1 <out>/images`` of torch-fidelity and clean-fid read
it), ``samples.npz`` and ``manifest.json`` saying which checkpoint, iteration, seed and generator produced them. The
folder is written under a temporary name and renamed when complete; an existing non-empty folder is refused.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import time
from pathlib import Path

from omegaconf import OmegaConf

from ganlab.cli.shared import compose_entry, run_entry
from ganlab.common.errors import ConfigError
from ganlab.common.validators import SEED, Rule, int_in, number_in, one_of, optional

SAMPLE_CONFIG = "sample"
FORMATS = {"png": ("png",), "npz": ("npz",), "both": ("png", "npz")}
MAX_SAMPLES = 10_000_000

SAMPLE_RULES = (
    Rule("n", lambda v: int_in(1)(v) and v <= MAX_SAMPLES, f"an integer in [1, {MAX_SAMPLES}]"),
    Rule("format", one_of(*FORMATS), ", ".join(FORMATS)),
    Rule("generator", one_of("auto", "g", "ema"), "auto, g, ema"),
    Rule("label", optional(int_in(0)), "null or an integer >= 0"),
    Rule("truncation", number_in(0, math.inf, low_open=True), "a number > 0 (.inf: none)"),
    Rule("batch_size", int_in(1), "an integer >= 1"),
    SEED,
)


def output_dir(cfg) -> Path:
    """The folder to write: ``out`` (new or empty) or a new one beside the checkpoint."""
    if cfg.out is None:
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
        return Path(cfg.ckpt).resolve().parent.parent / "samples" / f"{cfg.n}-seed{cfg.seed}-{stamp}"
    out = Path(str(cfg.out)).expanduser().resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"out={cfg.out} exists and is not an empty folder; accepted: a new or empty folder")
    return out


def run(argv: list[str]) -> Path:
    cfg = compose_entry(SAMPLE_CONFIG, argv, SAMPLE_RULES)
    out = output_dir(cfg)
    from ganlab.composition.build import restore_checkpoint
    from ganlab.latent.export import pick_generator, sample_batches, write_manifest, write_samples

    datamodule, module = restore_checkpoint(cfg.ckpt, cfg.data_root)
    if not hasattr(module, "generator"):
        raise ConfigError(f"ckpt={cfg.ckpt} holds no generator ({type(module).__name__}); accepted: a GAN's checkpoint")
    images = len(getattr(datamodule, "sample_shape", ())) == 3
    if "png" in FORMATS[cfg.format] and not images:
        raise ConfigError(f"format={cfg.format} needs images, but ckpt={cfg.ckpt} generates 2-D points; accepted: npz")
    try:
        net, used = pick_generator(module, cfg.generator)
        batches = sample_batches(module, net, cfg.n, cfg.batch_size, cfg.seed, cfg.label, float(cfg.truncation))
        first = next(batches)  # the settings' own checks (label of an unconditional G …) before anything is written
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    partial.mkdir(parents=True)
    try:
        written = write_samples(itertools.chain([first], batches), partial, FORMATS[cfg.format])
        settings = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "paths"]), resolve=True)
        settings["truncation"] = None if math.isinf(cfg.truncation) else float(cfg.truncation)  # strict JSON
        write_manifest(partial, {
            "checkpoint": str(Path(cfg.ckpt).resolve()), "iteration": module.iteration,
            "experiment": (module.run_config or {}).get("name"), "seed": cfg.seed, "generator": used, **written,
            "range": "images: uint8 [0, 255] from G's [-1, 1]" if images else "2-D points", "settings": settings,
        })  # fmt: skip
        if out.exists():
            out.rmdir()  # empty (checked above)
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # a crash or Ctrl-C leaves no half-written folder
        raise
    print(f"[ganlab-sample] {written['n']} samples ({used}, iteration {module.iteration}): {out}")
    return out


def main() -> None:
    run_entry("ganlab-sample", run, __doc__, SAMPLE_CONFIG)
