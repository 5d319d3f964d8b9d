"""``RunFolderCheckpointIO``: checkpoint files written in the run folder only (``ganlab/common/durable.py``).

Lightning's ``TorchCheckpointIO`` writes through fsspec's transaction, which stages the file in ``$TMPDIR``
(``tempfile.mkstemp()``) and then moves it: with a small node-local ``/tmp`` the run died at its first checkpoint
with a 48-line traceback naming no path, whatever the run folder's free space. Here the bytes go to a temporary
file beside the target, fsynced and renamed; a full disk is one line (``StorageFull``: ``ganlab-train`` exits 4).
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from ganlab.common.durable import write_durably


class RunFolderCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` whose saves go beside their target, never through ``$TMPDIR``."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        write_durably(Path(path), lambda f: torch.save(checkpoint, f), what="the previous checkpoint")
