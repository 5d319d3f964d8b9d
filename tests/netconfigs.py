"""Networks built from their shipped YAMLs (conf/model/generator, conf/model/discriminator) for tests."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf
from torch import nn

from ganlab.common.errors import CONF_DIR

LATENT = 16


def config(kind: str, name: str, shape, latent_dim: int = LATENT, **overrides) -> dict:
    """conf/model/<kind>/<name>.yaml with its ``${...}`` interpolations replaced by concrete values."""
    raw = OmegaConf.to_container(OmegaConf.load(Path(CONF_DIR) / "model" / kind / f"{name}.yaml"), resolve=False)
    values = {"${model.latent_dim}": latent_dim, "${data.shape}": list(shape), "${model.generator.skip}": False}
    cfg = {k: values[v] if isinstance(v, str) and v.startswith("${") else v for k, v in raw.items()}
    cfg.update(overrides)
    assert "${" not in str(cfg), cfg
    return cfg


def build(kind: str, name: str, shape, **overrides) -> nn.Module:
    return instantiate(config(kind, name, shape, **overrides))


def construct(kind: str, name: str, shape, **overrides) -> nn.Module:
    """Like ``build`` but calls the class itself: Hydra would wrap its errors in an InstantiationException."""
    cfg = config(kind, name, shape, **overrides)
    return get_class(cfg.pop("_target_"))(**cfg)


def gan_losses() -> list[str]:
    """The ``loss=`` options of GANModule: every loss YAML on the GAN loss schema (``loss=began`` is BEGANModule's)."""
    return sorted(
        p.stem for p in (CONF_DIR / "loss").glob("*.yaml") if "schema/loss@_here_: began" not in p.read_text()
    )


def make_loss(name: str):
    """The loss bundle of ``loss=<name>``, composed as ganlab-train composes it (schema defaults included)."""
    import ganlab.composition.schemas  # noqa: F401  (registers the schemas the loss YAMLs name)

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return instantiate(compose("train", overrides=[f"loss={name}"]).loss)
