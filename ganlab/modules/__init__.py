"""LightningModules: they wire nets, losses and optimisers together."""

from ganlab.modules.base import AdversarialModule
from ganlab.modules.began import BEGANModule
from ganlab.modules.gan import GANModule, UnrollMode

__all__ = ["AdversarialModule", "BEGANModule", "GANModule", "UnrollMode"]
