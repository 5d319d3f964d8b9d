"""Multirun job folders are named by their overrides; a long override list must still give a legal, distinct
folder name (a job of 10 overrides once failed with "OSError: File name too long")."""

from __future__ import annotations

from ganlab.composition.resolvers import MAX_NAME_BYTES, path_safe

LONG = (
    "+data.train_fraction=0.01,+loss.augment=ada,callbacks.metrics.every_n_epochs=100,callbacks.metrics=classifier,"
    "experiment=mnist_dcgan,loss.augment.speed_images=50000,loss=non_saturating,model.max_iterations=1800,"
    "trainer.enable_progress_bar=False,trainer.max_epochs=1000"
)


def test_short_names_are_kept_and_group_slashes_become_dots():
    assert path_safe("callbacks/metrics=classifier,loss=hinge") == "callbacks.metrics=classifier,loss=hinge"


def test_long_names_are_cut_with_a_hash_of_the_whole():
    name = path_safe(LONG)
    assert len(LONG) > 255 and len(name.encode()) <= MAX_NAME_BYTES
    assert name.startswith("+data.train_fraction=0.01,+loss.augment=ada,") and "~" in name
    other = path_safe(LONG.replace("max_epochs=1000", "max_epochs=1001"))  # differs after the cut
    assert other != name and other[:-11] == name[:-11]  # same head, another hash
    assert path_safe(LONG) == name  # deterministic: a resumed or re-read sweep finds its folders
    assert len(path_safe("é" * 300).encode()) <= MAX_NAME_BYTES  # bytes, not characters
