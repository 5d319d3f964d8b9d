"""Preflight: what normalisation layers in D do to the techniques that assume per-sample, Lipschitz-bounded critics
(issue #34).

- A gradient penalty (WGAN-GP, DRAGAN, R1, R2: every penalty that differentiates D's output with respect to its
  input) on a D with BatchNorm is refused: BatchNorm couples the samples through the batch statistics, so the
  gradient of D's summed output with respect to one sample is not that sample's own gradient (14 % apart on the
  DCGAN D, 14.6 % in tests/test_norm_rules.py). Gulrajani et al. use layer norm in the WGAN-GP critic for this
  reason. (Computing true per-sample gradients through batch statistics would need a per-sample forward pass with
  frozen statistics, which is not the critic that is trained; refusing is the honest choice.)
- Spectral norm with BatchNorm in D is allowed (it is a common combination) but said in one line: BatchNorm's gain
  is not normalised, so D is not Lipschitz-bounded as Miyato et al.'s D (no BatchNorm) is.
"""

from __future__ import annotations

import sys

from omegaconf import DictConfig, OmegaConf

from ganlab.common.errors import ConfigError

BATCH_STATISTICS = ("batch",)
#: the discriminator norms that keep samples independent (ganlab/nets/layers.py)
PER_SAMPLE_NORMS = "layer (WGAN-GP's critic), instance or none"
_SAID: set[str] = set()


def gradient_penalties(cfg: DictConfig) -> list[str]:
    """The names of the configured penalties that differentiate D with respect to its input."""
    from hydra.utils import get_class

    penalties = OmegaConf.select(cfg, "loss.penalties", default=None) or {}
    return [n for n, node in penalties.items() if getattr(get_class(node._target_), "double_backward", True)]


def check_discriminator_norm(cfg: DictConfig) -> None:
    norm = OmegaConf.select(cfg, "model.discriminator.norm", default=None)
    if norm not in BATCH_STATISTICS:
        return
    penalised = gradient_penalties(cfg)
    if penalised:
        raise ConfigError(
            f"loss.penalties.{penalised[0]} (loss={cfg.loss.get('name', '?')}) penalises each sample's input gradient, "
            f"which BatchNorm couples through the batch statistics (model.discriminator.norm={norm}); accepted: "
            f"model.discriminator.norm={PER_SAMPLE_NORMS}"
        )
    if OmegaConf.select(cfg, "model.discriminator.spectral_norm", default=False):
        note = (
            f"[ganlab] note: model.discriminator.spectral_norm=true with model.discriminator.norm={norm}: BatchNorm's "
            "gain is not normalised, so D is not Lipschitz-bounded as in Miyato et al. (no BatchNorm in D; "
            "model.discriminator.norm=none)"
        )
        if note not in _SAID:
            _SAID.add(note)
            print(note, file=sys.stderr)
