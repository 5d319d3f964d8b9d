"""LightningModules: they wire nets, losses and optimisers together."""

from ganlab.modules.gan import GANModule, UnrollMode

__all__ = ["GANModule", "UnrollMode"]
