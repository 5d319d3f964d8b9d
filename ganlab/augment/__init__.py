"""Differentiable augmentations of D's inputs, plugged into ``GANLoss.augment`` (``+loss/augment=diffaug``, ``ada``,
``ada_diffaugment`` or ``bgc``): an ``nn.Module`` called as ``augment(x, generator)``, drawing only from
``generator``; one with an ``observe(step)`` method is updated from the D step (ADA's probability)."""

from ganlab.augment.ada import AdaptiveAugment
from ganlab.augment.bgc import BgcAugment
from ganlab.augment.diffaugment import DEFAULT_POLICY, POLICIES, DiffAugment, parse_policy

__all__ = ["DEFAULT_POLICY", "POLICIES", "AdaptiveAugment", "BgcAugment", "DiffAugment", "parse_policy"]
