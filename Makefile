# ganlab — two commands do everything: `make train` and `make test`.
# Both create .venv and install the package (+ dev tools) the first time, or when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: setup train test test-all lint format bench bench-protocols notebooks clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## Train the default experiment (ring_unrolled: 8 Gaussians, unrolled GAN k=5) offline on CPU.
## Extra Hydra overrides: make train ARGS="loss=wgan_gp model.unroll_steps=0"
train: $(STAMP)
	$(BIN)/ganlab-train $(ARGS)

## The test suite CI runs (slow benchmarks excluded): two workers, each test module on one worker (its module
## fixtures, e.g. a trained run, are built once); ≈ 5–6 min on 2 cores (the first time, + ≈ 2–3 min of install).
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout=900 -n 2 --dist loadfile $(ARGS)

## Everything, including @pytest.mark.slow tests.
test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "" --timeout=3600 $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmarks: speed ratios, mode coverage, metrics, checkpoints, the latent toolkit, the autoencoder, fault injection
## (kill -9 / signals / damaged checkpoints) and how fast the entry points refuse bad input; results go
## to experiments/bench/out/ and are summarised by hand in experiments/RESULTS.md with the commands that produced them.
## The latent and autoencoder benchmarks train the MNIST classifier and a 5-epoch mnist_dcgan first when missing.
bench: $(STAMP)
	$(BIN)/python -m experiments.bench.speed $(ARGS)
	$(BIN)/python -m experiments.bench.fastpath
	$(BIN)/python -m experiments.bench.modes $(ARGS)
	$(BIN)/python -m experiments.bench.images $(ARGS)
	$(BIN)/python -m experiments.bench.loader
	$(BIN)/python -m experiments.bench.metrics $(ARGS)
	$(BIN)/python -m experiments.bench.checkpoint $(ARGS)
	$(BIN)/python -m experiments.bench.latent $(ARGS)
	$(BIN)/python -m experiments.bench.autoencoder $(ARGS)
	$(BIN)/python -m experiments.bench.faults
	$(BIN)/python -m experiments.bench.cli_speed
	$(BIN)/python -m experiments.bench.techniques
	$(BIN)/python -m experiments.bench.disturbance

## Published protocols over seeds (experiments/bench/protocols.py): PacGAN Table 1 (ring_pacgan, grid_pacgan) for GAN,
## PacGAN2 and PacGAN4, 5 seeds each, at the published 400 000 iterations: about 30 / 60 / 120 ms per iteration on one
## CPU thread, so this is cluster or GPU work (weeks on this 2-core machine); cut it with ARGS="--iterations 20000".
bench-protocols: $(STAMP)
	$(BIN)/python -m experiments.bench.protocols $(ARGS)

## Execute every notebook at full size (minutes each): figures go to notebooks/figures/, executed copies with their
## outputs to notebooks/executed/ (both git-ignored; the notebooks themselves stay clean). `make test` runs them at
## the tiny size (tests/test_notebooks.py).
notebooks: $(STAMP)
	$(BIN)/python -m experiments.notebooks $(ARGS)

## Requeue demo on a real one-node Slurm on this machine (root; installs slurm-wlm + munge the first time): a 2-job
## multirun through hydra-submitit-launcher, job 0 requeued mid-training, checked to resume bit-exactly.
## The cluster keeps running afterwards: experiments/slurm/cluster.sh stop
.PHONY: slurm-demo
slurm-demo: $(STAMP)
	experiments/slurm/cluster.sh start
	SLURM_CONF=$${SLURM_CONF:-$${GANLAB_SLURM_DIR:-/tmp/ganlab-slurm}/slurm.conf} $(BIN)/python experiments/slurm/demo.py $(ARGS)

clean:
	rm -rf outputs multirun lightning_logs wandb .pytest_cache experiments/bench/out
