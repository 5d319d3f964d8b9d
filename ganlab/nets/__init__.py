"""Architectures only: plain nn.Modules, no training logic, no losses, no Lightning."""

from ganlab.nets.autoencoder import ConvDecoder, ConvEncoder
from ganlab.nets.base import Discriminator, Generator, ShapeError, eval_mode
from ganlab.nets.began import BEGANAutoencoder, BEGANGenerator
from ganlab.nets.classifier import DomainClassifier
from ganlab.nets.conv import ConvDiscriminator, ConvGenerator
from ganlab.nets.infogan import InfoGANDiscriminator, InfoGANGenerator
from ganlab.nets.metz import MetzDiscriminator, MetzGenerator
from ganlab.nets.mlp import MLPDiscriminator, MLPGenerator
from ganlab.nets.seed import M1Generator

__all__ = [
    "BEGANAutoencoder",
    "BEGANGenerator",
    "ConvDecoder",
    "ConvDiscriminator",
    "ConvEncoder",
    "ConvGenerator",
    "Discriminator",
    "DomainClassifier",
    "Generator",
    "InfoGANDiscriminator",
    "InfoGANGenerator",
    "M1Generator",
    "MLPDiscriminator",
    "MetzDiscriminator",
    "MetzGenerator",
    "MLPGenerator",
    "ShapeError",
    "eval_mode",
]
