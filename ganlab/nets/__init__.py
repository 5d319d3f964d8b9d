"""Architectures only: plain nn.Modules, no training logic, no losses, no Lightning."""

from ganlab.nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["MLPDiscriminator", "MLPGenerator"]
