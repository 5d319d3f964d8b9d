"""What the checkpoint-reading entry points (``ganlab-eval``, ``ganlab-latent``) share: ``--help``, composing their
config with a rule table checked before any checkpoint is read, and the one-line error wrapper (exit 2)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from omegaconf import DictConfig, OmegaConf

from ganlab.errors import CONF_DIR, ConfigError, one_line
from ganlab.rules import Rule, check_rules

HELP_FLAGS = ("-h", "--help")


def usage(prog: str, doc: str, config_name: str) -> str:
    """The entry point's docstring, then its settings with their defaults and comments (``conf/<name>.yaml``)."""
    settings = (CONF_DIR / f"{config_name}.yaml").read_text()
    return f"usage: {prog} key=value ...\n\n{doc.strip()}\n\nSettings (conf/{config_name}.yaml):\n\n{settings}"


def compose_entry(config_name: str, argv: list[str], rules: Sequence[Rule] = ()) -> DictConfig:
    """The config of a checkpoint-reading entry with ``argv`` applied and ``rules`` checked; one-line errors."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name, overrides=argv)
    except Exception as exc:
        raise ConfigError(one_line(exc)) from None
    finally:
        GlobalHydra.instance().clear()
    if OmegaConf.is_missing(cfg, "ckpt"):
        raise ConfigError("ckpt is missing; accepted: ckpt=<path of a .ckpt file written by ganlab-train>")
    check_rules(cfg, rules)
    return cfg


def run_entry(prog: str, run: Callable[[list[str]], object], doc: str, config_name: str) -> None:
    """``prog``'s main: ``--help`` prints usage (exit 0); a ConfigError is one line on stderr (exit 2)."""
    from ganlab.runtime import silence_unactionable_warnings

    silence_unactionable_warnings()
    argv = sys.argv[1:]
    if any(arg in HELP_FLAGS for arg in argv):
        print(usage(prog, doc, config_name))
        sys.exit(0)
    try:
        run(argv)
    except ConfigError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        sys.exit(2)
