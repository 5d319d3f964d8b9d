"""Feature-learning probe (Radford et al. 2016, the DCGAN evaluation): a linear classifier — logistic regression
— on frozen discriminator features of labelled real images; its test accuracy says how much class structure D
learned without labels. Features: the input to D's head (after the minibatch layer's input, before the logit);
BEGAN's autoencoder D: the encoder's code; the kurtosis autoencoder: its latent code z (``ConvEncoder.features``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlab.common.errors import ConfigError
from ganlab.metrics.image_metrics import image_batches
from ganlab.nets.base import eval_mode


def feature_function(discriminator: nn.Module):
    """x → flat features of an unconditional, unpacked discriminator (one clear error otherwise)."""
    if getattr(discriminator, "num_classes", None):
        raise ConfigError("metrics=probe needs an unconditional discriminator (its features would see the labels)")
    if getattr(discriminator, "pack", 1) != 1:
        raise ConfigError(f"metrics=probe needs pack=1 (this discriminator packs {discriminator.pack} images)")
    if hasattr(discriminator, "features"):
        return lambda x: discriminator.features(x).flatten(1)
    if hasattr(discriminator, "encoder"):
        return lambda x: discriminator.encoder(x).flatten(1)
    raise ConfigError(f"metrics=probe: {type(discriminator).__name__} exposes no features")


@torch.inference_mode()
def extract(features, loader, device) -> tuple[Tensor, Tensor]:
    xs, ys = [], []
    for images, labels in image_batches(loader):
        if labels is None:
            raise ConfigError("metrics=probe needs labelled images")
        xs.append(features(images.to(device)).float().cpu())
        ys.append(torch.as_tensor(labels))
    return torch.cat(xs), torch.cat(ys)


def probe_loaders(datamodule, n_train: int, n_test: int, batch_size: int, seed: int):
    """(train loader, test loader, how they were split): the train and test splits; a dataset with one split
    (``one_split``: digits) is cut into disjoint seeded parts, so the probe is never tested on its training images."""
    if not getattr(datamodule, "one_split", False):
        train = datamodule.eval_dataloader("train", batch_size, n_train, seed)
        return train, datamodule.eval_dataloader("test", batch_size, n_test, seed), "train / test splits"
    from torch.utils.data import DataLoader, Subset

    dataset = datamodule.split_dataset("train")
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed)).tolist()
    n_train = min(n_train, len(dataset) // 2)
    n_test = min(n_test, len(dataset) - n_train)
    train, test = Subset(dataset, order[:n_train]), Subset(dataset, order[n_train : n_train + n_test])
    how = f"disjoint random parts of the one split ({n_train} / {n_test} of {len(dataset)} images, seed {seed})"
    return DataLoader(train, batch_size=batch_size), DataLoader(test, batch_size=batch_size), how


def discriminator_probe(
    discriminator: nn.Module,
    datamodule,
    n_train: int = 10_000,
    n_test: int = 10_000,
    batch_size: int = 500,
    seed: int = 0,
    max_iter: int = 1000,
) -> dict:
    """Logistic regression on standardised features of ``n_train`` training images; accuracy on ``n_test`` test
    images. D is put in eval mode (BatchNorm running statistics, no dropout) and restored."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if not getattr(datamodule, "num_classes", None):
        raise ConfigError(f"metrics=probe needs class labels; data={getattr(datamodule, 'name', '?')} has none")
    features = feature_function(discriminator)
    device = next(discriminator.parameters()).device
    train_loader, test_loader, split = probe_loaders(datamodule, n_train, n_test, batch_size, seed)
    with eval_mode(discriminator):
        x_train, y_train = extract(features, train_loader, device)
        x_test, y_test = extract(features, test_loader, device)
    scaler = StandardScaler().fit(x_train.numpy())
    clf = LogisticRegression(max_iter=max_iter)
    clf.fit(scaler.transform(x_train.numpy()), y_train.numpy())
    accuracy = float((clf.predict(scaler.transform(x_test.numpy())) == y_test.numpy()).mean())
    return {
        "probe_accuracy": accuracy,
        "probe": {
            "n_train": len(y_train),
            "split": split,
            "n_test": len(y_test),
            "feature_dim": int(x_train.shape[1]),
            "classifier": f"logistic regression (max_iter={max_iter}) on standardised D features",
        },
    }
