"""``ganlab-latent task=invert|inpaint|interpolate|arithmetic|truncate ckpt=<file.ckpt> …`` (conf/latent.yaml).

Parses and checks the settings (``LATENT_RULES``, before any heavy import), then ``ganlab.cli.latent_tasks`` rebuilds
the generator from the checkpoint's own config, runs one task of ``ganlab.latent`` and writes
``<ckpt dir>/latent/<task>-<time>/``: ``result.json`` and the task's figures. Earlier results are never replaced.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from omegaconf import OmegaConf

from ganlab.cli.shared import compose_entry, run_entry
from ganlab.common.errors import ConfigError
from ganlab.common.options import ENDPOINTS, MASKS
from ganlab.common.validators import SEED, SPLIT, Rule, int_in, number_in, one_of, subset_of

LATENT_CONFIG = "latent"
TASKS = ("invert", "inpaint", "interpolate", "arithmetic", "truncate")
MAX_ITERATIONS = 100_000


def _numbers(v) -> bool:
    return isinstance(v, list) and len(v) > 0 and all(number_in(-math.inf, math.inf)(a) for a in v)


LATENT_RULES = (
    Rule("task", one_of(*TASKS), ", ".join(TASKS)),
    SEED,
    SPLIT,
    Rule("n_images", int_in(1), "an integer >= 1"),
    Rule("restarts", int_in(1), "an integer >= 1"),
    Rule("iterations", lambda v: int_in(1)(v) and v <= MAX_ITERATIONS, f"an integer in [1, {MAX_ITERATIONS}]"),
    Rule("optimizer", one_of("adam", "sgd"), "adam, sgd"),
    Rule("lr", number_in(0, math.inf, low_open=True, high_open=True), "a number > 0"),
    Rule("momentum", number_in(0, 1, high_open=True), "a number in [0, 1)"),
    Rule("prior_weight", number_in(0, math.inf, high_open=True), "a number >= 0"),
    Rule("masks", subset_of(*MASKS), f"a non-empty list of {', '.join(MASKS)}"),
    Rule("pepper_fraction", number_in(0, 1, low_open=True, high_open=True), "a number in (0, 1)"),
    Rule("square_size", int_in(1), "an integer >= 1"),
    Rule("source", one_of("random", "images"), "random, images"),
    Rule("endpoints", one_of(*ENDPOINTS), ", ".join(ENDPOINTS)),
    Rule("pairs", int_in(1), "an integer >= 1"),
    Rule("mode", one_of("linear", "spherical"), "linear, spherical"),
    Rule("alphas", _numbers, "a non-empty list of numbers"),
    Rule("groups", lambda v: isinstance(v, list) and len(v) == 3 and all(int_in(0)(g) for g in v), "[a, b, c]"),
    Rule("group_size", int_in(1), "an integer >= 1"),
    Rule("thresholds", lambda v: _numbers(v) and all(t > 0 for t in v), "a non-empty list of numbers > 0 (.inf: none)"),
    Rule("n_samples", int_in(2), "an integer >= 2"),
)


def run(argv: list[str]) -> Path:
    cfg = compose_entry(LATENT_CONFIG, argv, LATENT_RULES)
    for key in ("classifier_dir", "cache_dir", "data_root"):
        cfg[key] = OmegaConf.select(cfg, key)  # resolve now: paths.run_dir needs Hydra's runtime, unused here
    from ganlab.cli import latent_tasks as tasks

    datamodule, module = tasks.load_generator(cfg)
    tasks.check_endpoints(module, cfg)
    if cfg.task == "inpaint" and cfg.mask_file:
        try:  # before anything is written
            tasks.load_mask(cfg.mask_file, (1, *datamodule.sample_shape))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    out = tasks.output_dir(cfg.ckpt, cfg.task)
    out.mkdir(parents=True)
    try:
        result = getattr(tasks, f"task_{cfg.task}")(cfg, datamodule, module, out)
    except (ConfigError, ValueError) as exc:  # the library's checks (optimizer, mask settings …): one line
        shutil.rmtree(out)  # a bad setting leaves nothing behind
        raise ConfigError(str(exc)) from None
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # a crash or Ctrl-C leaves no half-written result folder
        raise
    settings = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "paths"]), resolve=True)
    payload = {"task": cfg.task, "checkpoint": str(Path(cfg.ckpt).resolve()), "evaluated_with": module.evaluated_with}
    payload |= {**result, "settings": settings}
    (out / "result.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"[ganlab-latent] {cfg.task}: {out}")
    return out


def main() -> None:
    run_entry("ganlab-latent", run, __doc__, LATENT_CONFIG)
