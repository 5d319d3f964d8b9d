"""What the entry points share: the one-line error wrapper (a setting or missing file: exit 2; a diverged run:
exit 3), and for the checkpoint-reading ones (``ganlab-eval``, ``ganlab-latent``) ``--help`` and composing their
config with a rule table checked before any checkpoint is read."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from omegaconf import DictConfig, OmegaConf

from ganlab.common.durable import StorageFull
from ganlab.common.errors import CONF_DIR, ConfigError, Diverged, PeerLost, one_line
from ganlab.common.path_args import quote_paths
from ganlab.common.validators import Rule
from ganlab.preflight.rules import check_rules

HELP_FLAGS = ("-h", "--help")


def exit_code(exc: BaseException) -> int | None:
    """2 for the user's mistake (a setting, a missing file), 3 for a run that diverged, 4 for a full disk, 5 for a
    lost peer of a multi-process run, None for a crash."""
    if isinstance(exc, ConfigError):
        return 2
    if isinstance(exc, Diverged):
        return 3
    if isinstance(exc, StorageFull):
        return 4
    if isinstance(exc, PeerLost):
        return 5
    return None


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


@contextmanager
def one_line_errors(prog: str, tell: Callable[[str], object] = _to_stderr) -> Iterator[None]:
    """A ConfigError, Diverged, StorageFull or PeerLost inside becomes ``<prog>: error: <message>`` and its exit
    code; anything else propagates (a crash keeps its traceback)."""
    try:
        yield
    except (ConfigError, Diverged, StorageFull) as exc:
        tell(f"{prog}: error: {exc}")
        sys.exit(exit_code(exc))
    except PeerLost as exc:  # torch's C++ teardown of a broken process group can abort or hang: leave at once
        tell(f"{prog}: error: {exc}")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code(exc))


def usage(prog: str, doc: str, config_name: str) -> str:
    """The entry point's docstring, then its settings with their defaults and comments (``conf/<name>.yaml``)."""
    settings = (CONF_DIR / f"{config_name}.yaml").read_text()
    return f"usage: {prog} key=value ...\n\n{doc.strip()}\n\nSettings (conf/{config_name}.yaml):\n\n{settings}"


def compose_entry(
    config_name: str, argv: list[str], rules: Sequence[Rule] = (), check: Callable[[DictConfig], None] | None = None
) -> DictConfig:
    """The config of a checkpoint-reading entry with ``argv`` applied, ``rules`` and ``check`` passed (before the
    checkpoint is read); one-line errors."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name, overrides=quote_paths(argv))
    except Exception as exc:
        raise ConfigError(one_line(exc)) from None
    finally:
        GlobalHydra.instance().clear()
    if OmegaConf.is_missing(cfg, "ckpt"):
        raise ConfigError("ckpt is missing; accepted: ckpt=<path of a .ckpt file written by ganlab-train>")
    check_rules(cfg, rules)
    if check is not None:
        check(cfg)
    from ganlab.composition.checkpoints import read_checkpoint

    read_checkpoint(cfg.ckpt, "ckpt")  # a missing or unreadable file is refused before Lightning is imported
    return cfg


def run_entry(prog: str, run: Callable[[list[str]], object], doc: str, config_name: str) -> None:
    """``prog``'s main: ``--help`` prints usage (exit 0); then ``run(argv)`` inside ``one_line_errors``."""
    from ganlab.common.runtime import silence_unactionable_warnings

    silence_unactionable_warnings()
    argv = sys.argv[1:]
    if any(arg in HELP_FLAGS for arg in argv):
        print(usage(prog, doc, config_name))
        sys.exit(0)
    with one_line_errors(prog):
        run(argv)
