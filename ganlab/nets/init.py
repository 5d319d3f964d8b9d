"""Weight initialisation as an option of every architecture: ``init: default | dcgan | orthogonal | xavier``
(and ``init_gain`` for the two that take a gain), applied once when the network has been built.

- ``default``: PyTorch's own per-layer initialisation (Kaiming-uniform weights), untouched.
- ``dcgan``: Radford et al. (2016), §4: conv / transposed-conv / linear weights N(0, 0.02²), biases 0,
  normalisation scales N(1, 0.02²) and shifts 0 (the reference code's ``weights_init``).
- ``orthogonal``: (semi-)orthogonal weights (Saxe et al. 2014) scaled by ``init_gain``, biases 0.
- ``xavier``: Glorot-uniform weights (Glorot & Bengio 2010) scaled by ``init_gain``, biases 0.

Embeddings and parameters that belong to no conv/linear/norm layer (e.g. minibatch discrimination's tensor)
keep their own initialisation. A network class gets the option by inheriting ``Initialised``: the keywords
are taken off its constructor's arguments, and the scheme is applied after the outermost ``__init__``
returns, so a new architecture needs no code for it.
"""

from __future__ import annotations

import functools
import math

from torch import nn

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)
DCGAN_STD = 0.02


def _dcgan(module: nn.Module, gain: float) -> None:
    if isinstance(module, WEIGHTED):
        nn.init.normal_(module.weight, 0.0, DCGAN_STD)
    elif isinstance(module, NORMS) and getattr(module, "weight", None) is not None:
        nn.init.normal_(module.weight, 1.0, DCGAN_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _orthogonal(module: nn.Module, gain: float) -> None:
    if isinstance(module, WEIGHTED):
        nn.init.orthogonal_(module.weight, gain=gain)


def _xavier(module: nn.Module, gain: float) -> None:
    if isinstance(module, WEIGHTED):
        nn.init.xavier_uniform_(module.weight, gain=gain)


#: scheme → per-layer function (None: leave PyTorch's initialisation); the schemes that read ``init_gain``.
SCHEMES = {"default": None, "dcgan": _dcgan, "orthogonal": _orthogonal, "xavier": _xavier}
GAINED = ("orthogonal", "xavier")


def check_init(scheme: str, gain: float | None) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"init={scheme!r} is invalid; accepted: {', '.join(SCHEMES)}")
    if gain is not None and scheme not in GAINED:
        raise ValueError(f"init_gain={gain} applies to init={' or '.join(GAINED)} only, not init={scheme}")
    if gain is not None and not (isinstance(gain, int | float) and math.isfinite(gain) and gain > 0):
        raise ValueError(f"init_gain={gain!r} is invalid; accepted: a finite number > 0")


def initialise_(net: nn.Module, scheme: str = "default", gain: float | None = None) -> nn.Module:
    """Re-initialise ``net``'s conv/linear/norm layers in place by ``scheme``; biases of those layers become 0."""
    check_init(scheme, gain)
    layer_init = SCHEMES[scheme]
    if layer_init is None:
        return net
    for module in net.modules():
        layer_init(module, 1.0 if gain is None else gain)
        if isinstance(module, WEIGHTED) and module.bias is not None:
            nn.init.zeros_(module.bias)
    return net


def spectral_normalise_(net: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every linear / conv layer of ``net`` (after its init):
    W / σ(W), σ estimated by one power iteration per training forward (``torch.nn.utils.parametrizations``;
    its ``u``/``v`` are buffers, so checkpoints and the unrolled look-ahead carry them)."""
    from torch.nn.utils.parametrizations import spectral_norm

    for module in list(net.modules()):
        if isinstance(module, WEIGHTED):
            spectral_norm(module)
    return net


class Initialised(nn.Module):
    """Mixin: every subclass constructor accepts ``init``, ``init_gain`` and ``spectral_norm`` and applies them once,
    at the end of the outermost constructor (``self.init_scheme`` and ``self.spectral_norm`` record the choice)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
        original = cls.__init__

        @functools.wraps(original)
        def __init__(
            self, *args, init: str | None = None, init_gain: float | None = None, spectral_norm: bool = False, **kw
        ):
            outermost = "_init_pending" not in self.__dict__
            if outermost:
                check_init(init or "default", init_gain)
                if not isinstance(spectral_norm, bool):
                    raise ValueError(f"spectral_norm={spectral_norm!r} is invalid; accepted: true, false")
                object.__setattr__(self, "_init_pending", (init or "default", init_gain))
            elif init is not None or init_gain is not None or spectral_norm:
                raise TypeError(
                    "init / init_gain / spectral_norm are options of the outermost network constructor only"
                )
            original(self, *args, **kw)
            if outermost:
                scheme, gain = self.__dict__.pop("_init_pending")
                initialise_(self, scheme, gain)
                self.init_scheme = scheme
                self.spectral_norm = spectral_norm
                if spectral_norm:
                    spectral_normalise_(self)

        cls.__init__ = __init__
