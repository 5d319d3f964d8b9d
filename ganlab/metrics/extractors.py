"""Feature extractors for FID / KID / IS and mode counting. Each maps images in [-1, 1] to ``(features, logits)``
in one forward pass and says how it was made (``provenance``), so that every score records its extractor.

- ``inception``: the 2015-12-05 Inception-v3 of torch-fidelity / torchmetrics (2048-d pool features, 1008
  unbiased logits). Images are quantised to uint8 ((x + 1) / 2 · 255, rounded) and grey images are tiled to three
  channels (Lucic et al. 2018). ``antialias`` picks torchmetrics' antialiased resize (True) or torch-fidelity's
  TF-1.x-compatible one (False, the reference implementation's).
- ``classifier``: a domain classifier trained by ganlab (``experiment=classifier_mnist``): penultimate features
  (divided by their RMS on real training images, stored with the classifier) and logits. Its scores are
  *classifier*-FID / KID / IS, not comparable with Inception numbers.
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import torch
from torch import Tensor, nn

from ganlab.common.errors import ConfigError

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
DOWNLOAD_TIMEOUT_S = 30
EXTRACTORS = ("classifier", "inception")


def to_uint8(images: Tensor) -> Tensor:
    """[-1, 1] floats → uint8 in [0, 255] (round to nearest, clamped)."""
    return ((images.float() + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


def default_inception_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def resolve_inception_weights(weights_path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The Inception weights file: ``weights_path`` if given, else ``$TORCH_HOME/hub/checkpoints/``; downloaded
    there when missing and possible. Otherwise one ConfigError line saying which file to put where."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"inception_weights={weights_path} does not exist; accepted: the path of {INCEPTION_FILE} "
                f"({INCEPTION_URL})"
            )
        return path
    path = default_inception_path()
    if path.is_file():
        return path
    reason = "download=false"
    if download:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(INCEPTION_URL, str(path), progress=False)
            return path
        except Exception as exc:  # offline, proxy, partial file …
            reason = "download failed: " + " ".join(str(exc).split())[:120]
        finally:
            socket.setdefaulttimeout(previous)
    raise ConfigError(
        f"Inception weights missing: put {INCEPTION_FILE} ({INCEPTION_URL}) in {path.parent}/ "
        f"(= $TORCH_HOME/hub/checkpoints) or pass inception_weights=<file> ({reason}); "
        "without them use extractor=classifier"
    )


class FeatureExtractor(nn.Module):
    """Images in [-1, 1] → (features, logits). Subclasses set ``name``, ``num_features``, ``num_classes`` and
    ``cache_id`` (what real statistics computed with it are keyed by)."""

    name = "extractor"
    num_features: int
    num_classes: int
    cache_id: str

    def provenance(self) -> dict:
        raise NotImplementedError


class InceptionExtractor(FeatureExtractor):
    name = "inception"
    num_features, num_classes = 2048, 1008

    def __init__(self, weights_path: str | os.PathLike | None = None, antialias: bool = True, download: bool = True):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.weights = resolve_inception_weights(weights_path, download)
        self.antialias = antialias
        self.net = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=["2048", "logits_unbiased"],
            feature_extractor_weights_path=str(self.weights),
            antialias=antialias,
        )
        self.cache_id = f"inception-{file_digest(self.weights)}-aa{int(antialias)}"

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        x = to_uint8(images)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        features, logits = self.net._torch_fidelity_forward(x)  # torchmetrics' forward keeps the first output only
        return features, logits

    def provenance(self) -> dict:
        return {
            "extractor": "inception",
            "weights": str(self.weights),
            "antialias": self.antialias,
            "input": "uint8, grey tiled to RGB, resized to 299",
        }


class ClassifierExtractor(FeatureExtractor):
    """A ganlab domain classifier. ``per_channel``: each channel is classified on its own (Stacked-MNIST):
    features are concatenated and the logits are those of the joint label (100·c₀ + 10·c₁ + c₂ for 3 channels
    of 10 classes), i.e. the sum of the channels' log-probabilities."""

    name = "classifier"

    def __init__(self, path: str | os.PathLike, per_channel: bool = False, channels: int = 1):
        super().__init__()
        from ganlab.modules.classifier import load_classifier

        self.path = Path(path)
        self.net, self.info = load_classifier(self.path)
        self.per_channel, self.channels = per_channel, channels if per_channel else 1
        self.num_features = self.net.feature_dim * self.channels
        self.num_classes = self.net.num_classes**self.channels
        self.feature_scale = float(self.info.get("feature_scale") or 1.0)
        self.cache_id = f"classifier-{self.info.get('dataset')}-{file_digest(self.path)}"

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        n, c = images.shape[:2]
        if self.per_channel:
            images = images.reshape(n * c, 1, *images.shape[2:])
        features = self.net.features(images)
        logits = self.net.head(features)
        features = features / self.feature_scale
        if not self.per_channel:
            return features, logits
        log_p = logits.log_softmax(dim=1).reshape(n, c, -1)
        joint = log_p[:, 0]
        for i in range(1, c):  # outer sum: index = ((c₀·K + c₁)·K + c₂) …
            joint = (joint[:, :, None] + log_p[:, i, None, :]).reshape(n, -1)
        return features.reshape(n, -1), joint

    def provenance(self) -> dict:
        return {
            "extractor": "classifier",
            "classifier": str(self.path),
            "classifier_dataset": self.info.get("dataset"),
            "classifier_test_accuracy": self.info.get("test_accuracy"),
            "per_channel": self.per_channel,
            "feature_scale": self.feature_scale,
            "note": "classifier-FID/KID/IS: not comparable with Inception scores",
        }


def file_digest(path: Path, length: int = 10) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:length]


def classifier_file(datamodule, classifier_dir: str | os.PathLike, path: str | os.PathLike | None = None) -> Path:
    """The domain classifier that judges ``datamodule``'s images: ``path`` if given, else
    ``<classifier_dir>/<domain>.pt``. One ConfigError line when none fits or the file is missing."""
    from ganlab.data.catalog import data_options

    name = getattr(datamodule, "name", type(datamodule).__name__)
    domain = getattr(datamodule, "classifier_domain", None)
    if path is None and domain is None:
        domains = data_options(lambda cls: getattr(cls, "classifier_domain", None) is not None)
        raise ConfigError(
            f"extractor=classifier has no domain classifier for data={name}; accepted: extractor=inception, "
            f"or data={'|'.join(domains)}"
        )
    file = Path(path) if path is not None else Path(classifier_dir) / f"{domain}.pt"
    if not file.is_file():
        hint = f"train it with `ganlab-train experiment=classifier_{domain}`" if domain else "train a classifier"
        raise ConfigError(f"classifier file {file} is missing: {hint} (or pass classifier=<file>)")
    return file


def build_extractor(
    name: str,
    datamodule=None,
    classifier_dir: str | os.PathLike = "classifiers",
    classifier: str | os.PathLike | None = None,
    inception_weights: str | os.PathLike | None = None,
    antialias: bool = True,
) -> FeatureExtractor:
    if name == "inception":
        return InceptionExtractor(inception_weights, antialias)
    if name == "classifier":
        return ClassifierExtractor(
            classifier_file(datamodule, classifier_dir, classifier),
            per_channel=getattr(datamodule, "classify_per_channel", False),
            channels=getattr(datamodule, "channels", 1),
        )
    raise ConfigError(f"extractor={name} is not a known extractor; accepted: {', '.join(EXTRACTORS)}")
