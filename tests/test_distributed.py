"""The pieces of bounded distributed waits that need no second process (the real two-process cases:
tests/e2e/test_ddp_faults.py)."""

from datetime import timedelta

import pytest

from ganlab.cli.shared import exit_code
from ganlab.common.errors import PeerLost
from ganlab.composition.distributed import peer_failure, with_collective_timeout


def test_a_ddp_strategy_named_by_string_gets_the_collective_timeout():
    from pytorch_lightning.strategies import DDPStrategy

    strategy = with_collective_timeout("ddp_find_unused_parameters_true", 42)
    assert isinstance(strategy, DDPStrategy) and strategy._timeout == timedelta(seconds=42)
    assert strategy._ddp_kwargs.get("find_unused_parameters") is True
    for unchanged in ("auto", "single_device", None):
        assert with_collective_timeout(unchanged, 42) == unchanged
    assert with_collective_timeout("ddp", None) == "ddp"  # null: torch's default


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("[/x/gloo/transport/tcp/pair.cc:545] Read error [127.0.0.1]:4841: Connection reset by peer. GLHF"),
        RuntimeError("Application timeout caused pair closure"),
        RuntimeError("[/x/gloo/transport/tcp/unbound_buffer.cc:78] Timed out waiting 5000ms for recv operation"),
    ],
)
def test_a_process_group_failure_becomes_one_line_with_exit_5(error):
    lost = peer_failure(error, "/runs/x/checkpoints/last.ckpt", 150)
    assert isinstance(lost, PeerLost) and exit_code(lost) == 5
    message = str(lost)
    assert "\n" not in message and "lost a peer" in message and "iteration 150" in message
    assert "/x/gloo" not in message  # the backend's source path is dropped


def test_other_errors_are_not_called_a_lost_peer():
    assert peer_failure(RuntimeError("mat1 and mat2 shapes cannot be multiplied"), None, None) is None
    assert peer_failure(ValueError("Timed out"), None, None) is None  # not the backend's
    wrapped = RuntimeError("step failed")
    wrapped.__cause__ = RuntimeError("Application timeout caused pair closure")
    assert "no checkpoint was written yet" in str(peer_failure(wrapped, None, None))
