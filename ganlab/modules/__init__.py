"""LightningModules: they wire nets, losses and optimisers together."""

from ganlab.modules.adversarial import AdversarialModule
from ganlab.modules.autoencoder import AutoEncoderModule
from ganlab.modules.base import GenerativeModule
from ganlab.modules.began import BEGANModule
from ganlab.modules.classifier import ClassifierModule, ExportClassifier, load_classifier, save_classifier
from ganlab.modules.gan import GANModule, UnrollMode

__all__ = [
    "AdversarialModule",
    "AutoEncoderModule",
    "BEGANModule",
    "ClassifierModule",
    "ExportClassifier",
    "GANModule",
    "GenerativeModule",
    "UnrollMode",
    "load_classifier",
    "save_classifier",
]
