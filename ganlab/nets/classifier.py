"""A small domain classifier (MNIST, Fashion-MNIST): the feature extractor of classifier-FID / KID / IS and of
mode counting on machines without the Inception weights. ``features`` is the penultimate layer."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ganlab.nets.base import require


class DomainClassifier(nn.Module):
    """Blocks of (conv 3×3 → BN → ReLU) × ``convs_per_block`` → max-pool, one per width, then a ``feature_dim``
    ReLU layer (the features) and the logits."""

    def __init__(
        self,
        in_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        widths: Sequence[int] = (32, 64),
        feature_dim: int = 128,
        dropout: float = 0.3,
        convs_per_block: int = 1,
    ):
        super().__init__()
        self.in_shape, self.num_classes, self.feature_dim = tuple(in_shape), num_classes, feature_dim
        channels, height, width = self.in_shape
        scale = 2 ** len(widths)
        require(
            height % scale == 0 and width % scale == 0,
            f"DomainClassifier needs image sizes divisible by {scale}, got {height}×{width}",
        )
        layers, c = [], channels
        for w in widths:
            for c_in in (c, *[w] * (convs_per_block - 1)):
                layers += [nn.Conv2d(c_in, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            c = w
        self.body = nn.Sequential(
            *layers,
            nn.Flatten(),
            nn.Linear(c * (height // scale) * (width // scale), feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))
