"""Multi-process training: ``trainer=ddp_cpu`` (2 gloo ranks on CPU) through the real ``ganlab-train``, the rank
comparison of ``RankConsistencyCheck`` with 2 gloo processes forked by ``tests/ranks.py`` (a perturbed rank must be
caught), and the refusal of a local multirun with a multi-process trainer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from clirun import run_ganlab_train
from omegaconf import OmegaConf
from ranks import run_ranks

from ganlab.callbacks.ddp_check import broadcast_from_rank_zero, digest, gather_ints, max_abs_rank_diff
from ganlab.common.errors import ConfigError
from ganlab.preflight.ddp_rules import check_ddp_multirun, launches_ranks

TIMEOUT_S = 180
RANK_CHECK = ["++callbacks.ddp_check._target_=ganlab.callbacks.RankConsistencyCheck"]
RING_ITERATIONS, RING_PER_EPOCH = 12, 4
RING = [
    "trainer=ddp_cpu",
    "experiment=ring_unrolled",
    f"data.iterations_per_epoch={RING_PER_EPOCH}",
    "data.batch_size=64",
    f"model.max_iterations={RING_ITERATIONS}",
    "model.unroll_steps=2",
    "callbacks.mode_coverage.n_samples=200",
    "trainer.enable_progress_bar=false",
    "logger=none",
    *RANK_CHECK,
]
DIGITS_ITERATIONS = 3
DIGITS = [
    "trainer=ddp_cpu",
    "experiment=digits_dcgan",
    "data.batch_size=16",
    f"model.max_iterations={DIGITS_ITERATIONS}",
    "callbacks.sample_grid.n_samples=4",
    "callbacks.diagnostics=null",
    "trainer.enable_progress_bar=false",
    "logger=none",
    *RANK_CHECK,
]


# --------------------------------------------------------------------------- the comparison, 2 gloo processes
def rank_tensors(rank: int, perturb: float) -> list[torch.Tensor]:
    """The same tensors on every rank (float32, float64, int64, bool), rank 1's first one off by ``perturb``."""
    g = torch.Generator().manual_seed(0)
    weights = torch.randn(7, 3, generator=g)
    if rank == 1 and perturb:
        weights[2, 1] += perturb
    nan_everywhere = torch.tensor([1.0, float("nan"), float("inf")])
    return [
        weights,
        torch.randn(5, generator=g).double(),
        torch.arange(4),
        torch.ones(2, dtype=torch.bool),
        nan_everywhere,
    ]


def compare_worker(rank: int, world_size: int, port: int, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        result = {
            "same": max_abs_rank_diff(rank_tensors(rank, 0.0)),
            "perturbed": max_abs_rank_diff(rank_tensors(rank, 0.25)),
            "tiny": max_abs_rank_diff(rank_tensors(rank, 1e-6)),
            "nan_on_one_rank": max_abs_rank_diff([torch.tensor([float("nan") if rank == 1 else 0.0])]),
            "counter_off": max_abs_rank_diff([torch.tensor([7 + rank])]),
            "digests": gather_ints(digest(torch.tensor([rank]))),
            "same_digests": gather_ints(digest(torch.tensor([3]))),
        }
        drifted = [torch.full((3,), float(rank)), torch.tensor([rank])]
        broadcast_from_rank_zero(drifted)
        result["after_broadcast"] = max_abs_rank_diff(drifted) + abs(float(drifted[0].sum()))
        torch.save(result, f"{out}/{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_rank_comparison_catches_a_perturbed_rank(tmp_path):
    run_ranks(compare_worker, 2, str(tmp_path))
    for rank in (0, 1):  # every rank gets the same answer
        r = torch.load(tmp_path / f"{rank}.pt", weights_only=True)
        assert r["same"] == 0.0  # NaN == NaN and inf == inf count as equal
        assert r["perturbed"] == pytest.approx(0.25, rel=1e-6)  # planted: one weight off on rank 1
        assert 0 < r["tiny"] < 1e-5  # exact comparison, no tolerance
        assert r["nan_on_one_rank"] == float("inf")
        assert r["counter_off"] == 1.0
        assert len(set(r["digests"])) == 2 and len(set(r["same_digests"])) == 1
        assert r["after_broadcast"] == 0.0  # rank 0's values (zeros) everywhere


def test_one_process_is_free():
    assert max_abs_rank_diff([torch.ones(3)]) == 0.0 and gather_ints(5) == [5]


# --------------------------------------------------------------------------- multirun preflight
def trainer_cfg(**trainer) -> OmegaConf:
    return OmegaConf.create({"trainer": trainer})


@pytest.mark.parametrize(
    ("trainer", "multirun", "launcher", "refused"),
    [
        ({"strategy": "ddp_find_unused_parameters_true", "devices": 2}, True, "basic", True),
        ({"strategy": "ddp_find_unused_parameters_true", "devices": -1}, True, None, True),  # count unknown
        ({"strategy": "ddp", "devices": [0, 1]}, True, "joblib", True),
        ({"strategy": "auto", "accelerator": "cpu", "devices": 2}, True, "basic", True),  # auto → ddp
        ({"strategy": "ddp_find_unused_parameters_true", "devices": 2}, True, "slurm", False),
        ({"strategy": "ddp_find_unused_parameters_true", "devices": 2}, True, "submitit_slurm", False),
        ({"strategy": "ddp_find_unused_parameters_true", "devices": 2}, False, "basic", False),  # single run
        ({"strategy": "ddp_find_unused_parameters_true", "devices": 1}, True, "basic", False),  # one process
        ({"strategy": "ddp_spawn", "devices": 2}, True, "basic", False),  # spawns functions, not argv
        ({"strategy": "auto", "accelerator": "cpu", "devices": 1}, True, "basic", False),
    ],
)
def test_local_multirun_with_ddp_is_refused_in_one_line(trainer, multirun, launcher, refused):
    cfg = trainer_cfg(**trainer)
    if not refused:
        check_ddp_multirun(cfg, multirun, launcher)
        return
    with pytest.raises(ConfigError) as info:
        check_ddp_multirun(cfg, multirun, launcher)
    message = str(info.value)
    assert "\n" not in message and "hydra/launcher=slurm" in message and "one process per job" in message


def test_preflight_refuses_a_local_ddp_multirun():
    from ganlab.preflight.command_line import preflight

    with pytest.raises(ConfigError, match="local multirun"):
        preflight(["-m", "trainer=ddp_cpu", "loss=minimax,non_saturating"])


def test_ddp_presets_launch_ranks():
    conf = Path(__file__).resolve().parents[2] / "conf" / "trainer"
    for name in ("ddp", "ddp_cpu"):
        cfg = OmegaConf.load(conf / f"{name}.yaml")
        assert cfg.strategy == "ddp_find_unused_parameters_true" and cfg.sync_batchnorm is False
        assert launches_ranks(cfg), name
    assert not launches_ranks(OmegaConf.load(conf / "cpu.yaml"))


# --------------------------------------------------------------------------- real 2-rank runs
@dataclass
class DDPRun:
    returncode: int
    stdout: str
    stderr: str
    run_dir: Path | None

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"

    @property
    def metrics(self) -> dict:
        assert self.returncode == 0, self.describe()
        return json.loads((self.run_dir / "metrics.json").read_text())

    @property
    def ddp(self) -> dict:
        record = self.metrics.get("ddp")
        assert record is not None, f"no ddp record in metrics.json: {self.metrics}"
        return record


def ganlab_train_ddp(args: list[str], cwd: Path) -> DDPRun:
    proc = run_ganlab_train(args, cwd, TIMEOUT_S)
    dirs = sorted(p.parent for p in (cwd / "outputs").rglob(".hydra")) if (cwd / "outputs").exists() else []
    assert len(dirs) <= 1, f"one run directory expected (ranks > 0 share rank 0's): {dirs}"
    return DDPRun(proc.returncode, proc.stdout, proc.stderr, dirs[0] if dirs else None)


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory) -> DDPRun:
    return ganlab_train_ddp(RING, tmp_path_factory.mktemp("ddp_ring"))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> DDPRun:
    return ganlab_train_ddp(DIGITS, tmp_path_factory.mktemp("ddp_digits"))


def test_ring_two_ranks_hold_identical_parameters(ring_run):
    ddp = ring_run.ddp
    assert ddp["world_size"] == 2
    assert ddp["identical"] is True and ddp["max_abs_diff_params"] == 0.0, ddp
    assert ddp["max_abs_diff_buffers"] == 0.0  # the MLPs have no buffers
    assert ddp["first_batch_distinct"] is True, "the toy2d batches are not sharded across the ranks"
    assert ring_run.metrics["iteration"] == RING_ITERATIONS
    assert ring_run.stdout.count("[ganlab] ring_unrolled: iteration") == 1, "only rank 0 prints the summary"


def test_ring_ranks_draw_different_latents(ring_run):
    assert ring_run.ddp["noise_distinct"] is True, "every rank generates the same fakes (same noise RNG)"


def test_ring_checkpoint_loads_in_one_process(ring_run):
    from ganlab.composition.build import build_module
    from ganlab.modules import GANModule

    ckpt = torch.load(ring_run.run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["ganlab"]["iteration"] == RING_ITERATIONS
    module = build_module(OmegaConf.create(ckpt["ganlab"]["config"]))
    assert isinstance(module, GANModule)
    module.load_state_dict(ckpt["state_dict"])  # strict: every key, no DDP "module." prefix
    first = next(iter(ckpt["state_dict"]))
    assert torch.equal(module.state_dict()[first], ckpt["state_dict"][first])
    samples = module.sample(z=torch.randn(8, module.latent_dim))
    assert samples.shape == (8, 2) and samples.isfinite().all()


def test_digits_dcgan_two_ranks(digits_run):
    ddp = digits_run.ddp
    assert ddp["identical"] is True and ddp["max_abs_diff_params"] == 0.0, ddp
    # BatchNorm running statistics drift apart per rank (DDP does not broadcast buffers under manual optimisation);
    # the callback measured the drift and gave every rank rank 0's at the end
    assert ddp["max_abs_diff_buffers"] > 0 and ddp["buffers_identical"] is True and ddp["buffers_synced"], ddp
    assert ddp["first_batch_distinct"] is True, "the image batches are not sharded across the ranks"
    assert digits_run.metrics["iteration"] == DIGITS_ITERATIONS
    ckpt = torch.load(digits_run.run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["ganlab"]["iteration"] == DIGITS_ITERATIONS
    assert any(p.suffix == ".png" for p in (digits_run.run_dir / "samples").iterdir())
