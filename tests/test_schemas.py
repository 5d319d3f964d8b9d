"""One declaration per engine setting (issue #18): the schemas carry types, defaults and accepted values; the
constructors agree with their defaults; the preset YAMLs state only what differs; the rules come from the schemas."""

from __future__ import annotations

import dataclasses
import inspect
import re
from enum import Enum

import pytest
from hydra.utils import get_class
from omegaconf import MISSING, OmegaConf

from ganlab.common.errors import CONF_DIR, ConfigError
from ganlab.composition.schemas import LOSS_SCHEMAS, MODEL_SCHEMAS, GANModelSchema, schema_rules, setting
from ganlab.preflight.rules import RULES, check_rules

SCHEMAS = {**{f"model/{k}": v for k, v in MODEL_SCHEMAS.items()}, **{f"loss/{k}": v for k, v in LOSS_SCHEMAS.items()}}
NODES = {"generator", "discriminator", "encoder", "decoder", "objective", "penalty", "constraint", "z_weight", "name"}


def constructor_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword parameters of ``cls`` and of the ``__init__``s it forwards ``**kwargs`` to (its bases)."""
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        signature = inspect.signature(init)
        for name, param in signature.parameters.items():
            if name != "self" and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                params.setdefault(name, param)
        if not any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
            break
    return params


def plain(value):
    return value.value if isinstance(value, Enum) else value


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_fields_are_constructor_parameters_with_the_same_defaults(name):
    schema = SCHEMAS[name]
    cls = get_class(schema._target_)
    params = constructor_parameters(cls)
    for field in dataclasses.fields(schema):
        if field.name == "_target_":
            continue
        assert field.name in params, f"{schema.__name__}.{field.name} is not a parameter of {cls.__name__}"
        default, param = field.default, params[field.name]
        interpolated = isinstance(default, str) and default.startswith("${")
        if default in (MISSING, dataclasses.MISSING) or interpolated or param.default is inspect.Parameter.empty:
            continue
        assert plain(default) == plain(param.default), f"{schema.__name__}.{field.name}: {default} vs {param.default}"


def test_the_check_finds_a_planted_default_mismatch():
    @dataclasses.dataclass
    class Drifted(GANModelSchema):
        d_steps: int = 2

    params = constructor_parameters(get_class(Drifted._target_))
    assert plain(params["d_steps"].default) != Drifted.d_steps


def preset_paths():
    for path in sorted((CONF_DIR / "model").glob("*.yaml")) + sorted((CONF_DIR / "loss").glob("*.yaml")):
        match = re.search(r"/schema/(model|loss)@_here_: (\w+)", path.read_text())
        if match:
            yield path, SCHEMAS[f"{match.group(1)}/{match.group(2)}"]


@pytest.mark.parametrize(("path", "schema"), list(preset_paths()), ids=lambda v: getattr(v, "stem", ""))
def test_presets_state_only_what_differs_from_their_schema(path, schema):
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    defaults = {f.name: plain(f.default) for f in dataclasses.fields(schema)}
    restated = [k for k, v in raw.items() if k in defaults and k not in NODES and v == defaults[k]]
    assert restated == [], f"{path.name} restates {schema.__name__}'s defaults: {restated}"


def test_every_model_and_loss_yaml_names_a_schema():
    named = {p.name for p, _ in preset_paths()}
    unschema = {"classifier.yaml"}  # the classifier is not a generative model: its node is free-form
    assert {p.name for p in (CONF_DIR / "loss").glob("*.yaml")} - named <= {
        "cross_entropy.yaml",
        "mse.yaml",
        "non_saturated.yaml",
    }  # aliases
    assert {p.name for p in (CONF_DIR / "model").glob("*.yaml")} - named - unschema == {"kurtosis_ae.yaml"}  # on ae


def test_rules_come_from_the_schemas():
    keys = {rule.key for rule in RULES}
    for prefix, schemas in (("model", MODEL_SCHEMAS), ("loss", LOSS_SCHEMAS)):
        for rule in schema_rules(prefix, *schemas.values()):
            assert rule.key in keys
    assert {"model.d_steps", "model.unroll_steps", "model.k_init", "loss.gamma", "model.z_pooling"} <= keys


def test_a_schema_setting_outside_its_range_is_one_line():
    @dataclasses.dataclass
    class Toy:
        steps: int = setting(1, lambda v: isinstance(v, int) and 1 <= v <= 3, "an integer in [1, 3]")
        free: int = 0

    rules = schema_rules("toy", Toy)
    assert [r.key for r in rules] == ["toy.steps"]
    check_rules(OmegaConf.create({"toy": {"steps": 3, "free": -5}}), rules)
    with pytest.raises(ConfigError, match=r"^toy\.steps=4 is invalid; accepted: an integer in \[1, 3\]$"):
        check_rules(OmegaConf.create({"toy": {"steps": 4}}), rules)
