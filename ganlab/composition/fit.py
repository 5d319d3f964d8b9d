"""Composition: do the networks fit the data? Checked by the preflight (``check_networks_fit_data``: networks built
on the meta device, no memory, no compute, before any run directory exists) and again by ``build`` on the real
objects (``check_fit``)."""

from __future__ import annotations

from contextlib import contextmanager

from ganlab.common.errors import ConfigError


@contextmanager
def shape_errors_as_config_errors():
    """An architecture that cannot draw or read the data's images, or a network option it refuses, fails in one line
    naming what it accepts."""
    from hydra.errors import InstantiationException

    from ganlab.nets import ShapeError

    try:
        yield
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, ShapeError):
            raise ConfigError(f"{cause} (data shape from data.image_size / data=…)") from None
        if isinstance(cause, ValueError):  # a network option out of range (e.g. init=…): the network says which
            raise ConfigError(str(cause)) from None
        raise


#: The networks a model config may hold, and the attribute that declares the shape each one meets the data with.
NETWORK_SHAPES = (
    ("generator", "out_shape"),
    ("discriminator", "in_shape"),
    ("net", "in_shape"),
    ("encoder", "in_shape"),
    ("decoder", "out_shape"),
)


def check_fit(datamodule, nets) -> None:
    """Declared sample shapes and class labels of the data vs the networks' ``out_shape``/``in_shape`` and
    ``num_classes`` (``nets``: a module or a mapping holding the networks named in ``NETWORK_SHAPES``)."""
    found = {key: nets.get(key) if isinstance(nets, dict) else getattr(nets, key, None) for key, _ in NETWORK_SHAPES}
    expected = getattr(datamodule, "sample_shape", None)
    for key, attr in NETWORK_SHAPES:
        actual = getattr(found[key], attr, None)
        if expected is not None and actual is not None and tuple(actual) != tuple(expected):
            raise ConfigError(
                f"model.{key}.{attr}={list(actual)} does not fit data={getattr(datamodule, 'name', '?')} "
                f"(samples of shape {list(expected)}); accepted: {list(expected)}"
            )
    from ganlab.data.catalog import data_options_with_classes

    classes = next((n.num_classes for n in found.values() if getattr(n, "num_classes", None)), None)
    available = getattr(datamodule, "num_classes", None)
    if classes and available != classes:
        name = getattr(datamodule, "name", "?")
        kind = "classifier" if found["net"] is not None else "conditional model"
        raise ConfigError(
            f"a {kind} for {classes} classes does not fit data={name} "
            f"({'no class labels' if not available else f'{available} classes'}); "
            f"accepted: {', '.join(data_options_with_classes(classes))}"
        )


def check_networks_fit_data(cfg) -> None:
    """Build the data module (constructors do not touch files) and the networks on the meta device."""
    import torch
    from hydra.utils import instantiate

    model = cfg.get("model")
    if cfg.get("data") is None or model is None:
        return
    keys = [key for key, _ in NETWORK_SHAPES if key in model]
    if not keys:
        return
    datamodule = instantiate(cfg.data)
    callbacks = cfg.get("callbacks") or {}
    if callbacks.get("mode_coverage") is not None and not hasattr(datamodule, "mixture"):
        from ganlab.callbacks.mode_coverage import mode_coverage_message

        raise ConfigError(mode_coverage_message(datamodule))
    with shape_errors_as_config_errors(), torch.device("meta"):
        nets = {key: instantiate(model[key]) for key in keys}
    check_fit(datamodule, nets)
