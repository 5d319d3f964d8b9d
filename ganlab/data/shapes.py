"""What every DataModule promises: ``sample_shape``, and that a declared ``shape`` config matches it."""

from __future__ import annotations


def check_declared_shape(datamodule, declared) -> None:
    """Configs declare ``shape`` so that networks can interpolate it; it must be what the data produces."""
    if declared is not None and tuple(declared) != tuple(datamodule.sample_shape):
        raise ValueError(
            f"data.shape={list(declared)} does not match {datamodule.name} samples of shape "
            f"{list(datamodule.sample_shape)}"
        )
