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
    raw = _merged(Path(CONF_DIR) / "model" / kind, name)
    values = {"${model.latent_dim}": latent_dim, "${data.shape}": list(shape), "${model.generator.skip}": False}
    cfg = {k: values[v] if isinstance(v, str) and v.startswith("${") else v for k, v in raw.items()}
    cfg.update(overrides)
    assert "${" not in str(cfg), cfg
    return cfg


def _merged(folder: Path, name: str) -> dict:
    """``<folder>/<name>.yaml`` over the siblings its ``defaults`` list names (``dcgan_sn`` extends ``dcgan``)."""
    own = OmegaConf.load(folder / f"{name}.yaml")
    parents = [d for d in own.pop("defaults", []) if d != "_self_"]
    merged = OmegaConf.merge(*[OmegaConf.create(_merged(folder, parent)) for parent in parents], own)
    return OmegaConf.to_container(merged, resolve=False)


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
