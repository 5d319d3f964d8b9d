"""experiments.bench.cuda (the GPU check): its cases compose for both devices, it refuses a machine without CUDA with
one line, and its measuring code runs (on the CPU here, with the GPU device swapped for the CPU)."""

from __future__ import annotations

import pytest
import torch

from experiments.bench import cuda


def test_every_case_composes_for_both_devices(tmp_path):
    for name, overrides in cuda.CASES.items():
        for device in ("gpu", "cpu") if name.startswith("ring") else ("gpu",):
            cfg = cuda.compose_cfg(tmp_path, [*overrides, *cuda.ACCELERATORS[device], "model.max_iterations=5"])
            assert cfg.trainer.accelerator == device, name
            assert cfg.model.max_iterations == 5
            if "mixed" in name:
                assert cfg.trainer.precision == name.split()[-1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_refuses_a_machine_without_cuda(capsys):
    assert cuda.main([]) == 2
    assert capsys.readouterr().err.strip() == "error: no CUDA device: experiments.bench.cuda runs on a GPU machine"


@pytest.mark.slow  # five short fits (~1 min): run by `make test-all`
def test_training_and_resume_measure_on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setitem(cuda.ACCELERATORS, "gpu", ["trainer=cpu"])
    monkeypatch.setattr(cuda, "CASES", {k: v for k, v in cuda.CASES.items() if k.startswith("ring")})
    rows = cuda.training(tmp_path, iterations=6, warmup=2)
    assert [r["case"] for r in rows] == ["ring k=5 first-order", "ring k=5 second-order"]
    for row in rows:
        assert row["gpu"]["iterations"] == row["cpu"]["iterations"] == 6
        assert row["gpu"]["finite"] and row["cpu"]["finite"] and row["gpu_over_cpu"] > 0
    monkeypatch.setattr(cuda, "RESUME_CASES", ("ring k=5 second-order",))
    (resumed,) = cuda.resume(tmp_path, n=8, at=3)
    assert resumed["max_abs_weight_diff"] == 0.0  # bit-exact on the CPU
