"""The ``data=`` options (``conf/data/*.yaml``) whose data-module class has a property: named in error messages
("accepted: mnist, fashion_mnist")."""

from __future__ import annotations

from ganlab.common.errors import CONF_DIR


def data_options(accepts) -> list[str]:
    """The ``data=`` options whose data-module class satisfies ``accepts(cls)`` (read from the classes)."""
    from hydra.utils import get_class
    from omegaconf import OmegaConf

    names = []
    for path in sorted((CONF_DIR / "data").glob("*.yaml")):
        target = OmegaConf.load(path).get("_target_")
        if target and accepts(get_class(target)):
            names.append(path.stem)
    return names


def data_options_with_classes(classes: int) -> list[str]:
    """The ``data=`` options whose data module yields labels of ``classes`` classes."""
    return data_options(lambda cls: getattr(cls, "num_classes", None) == classes)
