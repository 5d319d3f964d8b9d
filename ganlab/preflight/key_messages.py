"""Preflight: the messages for a key Hydra cannot place — an unknown key (with the keys its parent accepts and the
nearest one), a group option the chosen schema has no place for — and the typo that looks like an addition
(``+optim.generater.lr`` beside ``optim.generator``)."""

from __future__ import annotations

import re

from omegaconf import DictConfig, OmegaConf

from ganlab.common.errors import ConfigError, one_line


def unknown_key_message(config_name: str, combo: list[str], exc: Exception) -> str | None:
    """For ``model.foo=1``: name the key, the value and the keys that ``model`` accepts."""
    from hydra import compose

    match = re.search(r"Could not override '([^']+)'", str(exc))
    if not match:
        return None
    key = match.group(1)
    bad = [o for o in combo if o.split("=", 1)[0].lstrip("+~") == key]
    try:
        base = compose(config_name, overrides=[o for o in combo if o not in bad])
    except Exception:
        return None
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(base, parent_key) if parent_key else base
    if not isinstance(parent, DictConfig):
        return None
    value = bad[0].split("=", 1)[1] if bad else "?"
    accepted = ", ".join(sorted(str(k) for k in parent))
    where = f"'{parent_key}'" if parent_key else "the top level"
    guess = did_you_mean(leaf, [str(k) for k in parent])
    return (f"{key}={value}: unknown key '{leaf}' in {where}{guess}; accepted: {accepted} "
            "(prefix with + to add a new key)")  # fmt: skip


def did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to a mistyped ``name``, else ""."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_additions(combo: list[str], compose_without) -> None:
    """A ``+key=value`` whose new name is nearly that of an existing sibling (``+optim.generater.lr`` beside
    ``optim.generator``) is a typo, not an addition: refused with the key it meant, before a run folder exists
    (``++key=value`` adds it anyway). ``compose_without(override)``: the config without that override."""
    for override in combo:
        if not override.startswith("+") or override.startswith("++") or "=" not in override:
            continue
        key = override[1:].split("=", 1)[0]
        if "/" in key or "." not in key:  # a group added (+loss/penalty=r1): Hydra checks the option
            continue
        node, parts = compose_without(override), key.split(".")
        for depth, part in enumerate(parts):
            if not isinstance(node, DictConfig):
                break
            if part not in node:  # the first new name on the path
                siblings = sorted(str(k) for k in node)
                guess = did_you_mean(part, siblings)
                if guess:
                    where = ".".join(parts[:depth]) or "the top level"
                    raise ConfigError(
                        f"{override}: a new key '{part}' in {where}{guess}; accepted: one of "
                        f"{', '.join(siblings)}, or ++ to add it anyway"
                    )
                break
            node = node[part]


def option_without_place_message(exc: Exception) -> str | None:
    """For ``loss=began +loss/penalty=r1``: a group option whose keys the chosen schema does not have (BEGAN's loss
    takes no penalties and no augmentation)."""
    match = re.search(r"In '(\w+)/(\w+)/(\w+)'.*Key '(\w+)' not in '(\w+)'", one_line(exc))
    if not match:
        return None
    parent, group, option, key, schema = match.groups()
    example = {"loss": " (e.g. loss=non_saturating, loss=hinge)", "model": " (e.g. model=gan_dcgan)"}.get(parent, "")
    return (
        f"{parent}/{group}={option} cannot be added here: the chosen {parent} ({schema}) has no '{key}'; "
        f"accepted: a {parent} with '{key}'{example}, or no {parent}/{group}"
    )
