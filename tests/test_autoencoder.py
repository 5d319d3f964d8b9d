"""The kurtosis autoencoder: the moment estimators and the regulariser against closed forms, the weight schedule,
the networks on every image shape, training on digits (both losses fall), a checkpoint round trip, the latent-CDF
callback. Exact resume is in test_resume.py; CLI runs in e2e/test_autoencoder_cli.py."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from ganlab.callbacks import LatentCDFCallback
from ganlab.common.errors import CONF_DIR, ConfigError
from ganlab.composition.build import build
from ganlab.composition.fit import check_networks_fit_data
from ganlab.moments import EpochSchedule, ks_normal, moment_loss, standardized_moments
from ganlab.nets import ConvDecoder, ConvEncoder, ShapeError
from ganlab.preflight.checks import validate


# --------------------------------------------------------------------------- moments, closed forms
def test_moments_of_small_samples_by_hand():
    m = standardized_moments(torch.tensor([-1.0, 1.0]))
    assert torch.allclose(m, torch.tensor([0.0, 1.0, 1.0]))  # two points: kurtosis 1, the minimum
    # 0, 0, 0, 4: mean 1, central values -1, -1, -1, 3 → var 12 / 4 = 3, fourth moment 84 / 4 = 21, kurtosis 21 / 9
    m = standardized_moments(torch.tensor([[0.0, 0.0], [0.0, 4.0]]))
    assert torch.allclose(m, torch.tensor([1.0, 3.0, 21 / 9]))


@pytest.mark.parametrize(
    ("name", "draw", "kurtosis"),
    [
        ("normal", lambda n, g: torch.randn(n, generator=g, dtype=torch.float64), 3.0),
        ("uniform", lambda n, g: torch.rand(n, generator=g, dtype=torch.float64), 1.8),
        ("laplace", lambda n, g: -torch.log(torch.rand(n, generator=g, dtype=torch.float64)) * torch.sign(
            torch.rand(n, generator=g, dtype=torch.float64) - 0.5), 6.0),
    ],
)  # fmt: skip
def test_kurtosis_estimator_on_large_samples(name, draw, kurtosis):
    z = draw(2_000_000, torch.Generator().manual_seed(0))
    estimated = standardized_moments(z)[2].item()
    assert estimated == pytest.approx(kurtosis, abs=0.02 * kurtosis), name


def test_regulariser_is_zero_on_a_standard_normal_batch_and_grows_away_from_it():
    z = torch.randn(256, 100, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    base = moment_loss(z).item()
    assert base < 1e-3
    # closed form for an affine change a·z + b of (nearly) N(0, 1) codes: ((b)² + (a² − 1)² + 0²) / 3
    assert moment_loss(z * 2).item() == pytest.approx(9 / 3, rel=0.02)
    assert moment_loss(z + 1).item() == pytest.approx(1 / 3, rel=0.02)
    losses = [moment_loss(z * scale).item() for scale in (1.0, 1.2, 1.5, 2.0, 3.0)]
    assert losses == sorted(losses) and losses[-1] > 20
    heavy = torch.sign(z) * z.abs() ** 1.5  # heavier tails, same sign structure: kurtosis above 3
    assert standardized_moments(heavy)[2] > 4 and moment_loss(heavy / heavy.std()) > 0.5


def test_per_dimension_moments_see_what_pooling_hides():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(4000, 6, generator=g, dtype=torch.float64)
    shifted = z + torch.tensor([1.0, -1.0] * 3, dtype=torch.float64)  # columns N(±1, 1): the pool is a 2-mode mix
    per_dim = standardized_moments(shifted, "per_dimension")
    assert per_dim.shape == (3, 6)
    assert torch.allclose(per_dim[0].abs(), torch.ones(6, dtype=torch.float64), atol=0.06)
    # per dimension: only the means are off → loss ≈ (1 + 0 + 0) / 3; pooled: mean 0, var 2, kurtosis 2.5
    assert moment_loss(shifted, "per_dimension").item() == pytest.approx(1 / 3, abs=0.03)
    pooled = standardized_moments(shifted)
    assert pooled[1].item() == pytest.approx(2.0, abs=0.05) and pooled[2].item() == pytest.approx(2.5, abs=0.05)
    assert moment_loss(shifted).item() == pytest.approx((0 + 1 + 0.25) / 3, abs=0.05)
    with pytest.raises(ValueError, match="accepted: pooled, per_dimension"):
        moment_loss(z, "columns")


def test_ks_statistic_closed_forms():
    assert ks_normal(torch.zeros(1)) == pytest.approx(0.5)  # F_n jumps 0 → 1 at 0, Φ(0) = 0.5
    normal = torch.randn(200_000, generator=torch.Generator().manual_seed(3))
    assert ks_normal(normal) < 1.63 / math.sqrt(200_000)  # below the 1 % critical value
    # N(0.5, 1): sup |Φ(x − 0.5) − Φ(x)| = 2 Φ(0.25) − 1 at x = 0.25
    assert ks_normal(normal + 0.5) == pytest.approx(2 * torch.special.ndtr(torch.tensor(0.25)).item() - 1, abs=0.005)


def test_the_reports_weight_schedule():
    schedule = EpochSchedule()
    weights = [schedule(epoch) for epoch in range(16)]
    assert weights[0] == 0.001 and weights[1] == pytest.approx(0.002) and weights[10] == pytest.approx(1.024)
    assert weights[11] == pytest.approx(2.048) and weights[11:] == [weights[11]] * 5  # epoch 12 (1-based) caps it
    assert EpochSchedule(0.5, 1.0, None)(40) == 0.5 and EpochSchedule(1.0, 2.0, None)(3) == 8.0
    assert EpochSchedule(1.0, 2.0, 10.0)(5000) == 10.0  # no overflow
    with pytest.raises(ValueError, match="accepted"):
        EpochSchedule(start=-1)


# --------------------------------------------------------------------------- networks
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (3, 28, 28), (1, 8, 8), (1, 30, 20)], ids=str)
def test_encoder_and_decoder_shapes(shape):
    torch.manual_seed(0)
    encoder, decoder = ConvEncoder(shape, latent_dim=100), ConvDecoder(100, shape)
    x = torch.rand(3, *shape) * 2 - 1
    z = encoder(x)
    assert z.shape == (3, 100)
    with torch.no_grad():
        assert decoder(z).shape == (3, *shape)
        for p in decoder.parameters():  # pre-activations far outside [-1, 1]: only the tanh keeps the output bounded
            p.mul_(6.0)
        out = decoder(z)
    assert out.abs().max() <= 1.0 and (out.abs() > 0.99).float().mean() > 0.3
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    deconvs = [m for m in decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    linears = [m for m in (*encoder.modules(), *decoder.modules()) if isinstance(m, torch.nn.Linear)]
    assert (len(convs), len(deconvs), len(linears)) == (3, 3, 2)  # the report's 3 conv + FC / FC + 3 ConvT
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in encoder.modules())


def test_codes_are_unbounded_and_small_images_are_refused():
    encoder = ConvEncoder((1, 28, 28))
    with torch.no_grad():
        for p in encoder.fc.parameters():
            p.mul_(100)
        assert encoder(torch.rand(4, 1, 28, 28)).abs().max() > 1.5  # no activation on z
    with pytest.raises(ShapeError, match="at least 8×8"):
        ConvEncoder((1, 7, 7))
    with pytest.raises(ShapeError, match=r"\(C, H, W\)"):
        ConvDecoder(10, (2,))


# --------------------------------------------------------------------------- configs
def compose_train(overrides: list[str]):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=overrides)


@pytest.mark.parametrize("data", ["mnist", "fashion_mnist", "cifar10", "celeba", "digits", "stacked_mnist"])
@pytest.mark.parametrize("model", ["ae", "kurtosis_ae"])
def test_autoencoder_fits_every_image_dataset(model, data):
    cfg = compose_train(["experiment=mnist_kurtosis_ae", f"model={model}", f"data={data}"])
    validate(cfg)
    check_networks_fit_data(cfg)  # on the meta device, as the preflight does
    assert (cfg.model.z_weight is None) == (model == "ae")


def test_bad_pooling_is_a_one_line_config_error():
    cfg = compose_train(["experiment=digits_kurtosis_ae", "model.z_pooling=columns"])
    with pytest.raises(ConfigError, match="model.z_pooling='columns' is invalid; accepted: pooled, per_dimension"):
        validate(cfg)


# --------------------------------------------------------------------------- training on digits
TINY = ["trainer.enable_progress_bar=false", "logger=none", "trainer.log_every_n_steps=1"]
FAST_CALLBACKS = [
    "callbacks.latent_cdf.n_images=200",
    "callbacks.sample_grid.n_samples=16",
    "callbacks.diagnostics=null",
]


def fit_digits(run_dir: Path, overrides: list[str]):
    run = ["experiment=digits_kurtosis_ae", f"paths.run_dir={run_dir}"]
    cfg = compose_train([*run, *TINY, *FAST_CALLBACKS, *overrides])
    datamodule, module, trainer = build(cfg)
    trainer.fit(module, datamodule=datamodule)
    return datamodule, module, trainer


def fixed_batch(datamodule, n: int = 256) -> torch.Tensor:
    return next(iter(datamodule.eval_dataloader("train", batch_size=n, limit=n, seed=5)))[0]


def test_a_few_iterations_on_digits_reduce_both_losses(tmp_path):
    torch.manual_seed(0)
    cfg = compose_train(["experiment=digits_kurtosis_ae", f"paths.run_dir={tmp_path}", *TINY])
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    x = fixed_batch(datamodule)
    # a larger starting weight so that 40 iterations move the codes visibly (the report's 0.001 needs epochs)
    _, module, _ = fit_digits(tmp_path, ["model.max_iterations=40", "model.z_weight.start=0.5"])
    trained = {k: v.item() for k, v in module.losses(x, epoch=0).items() if k != "z"}
    torch.manual_seed(0)
    initial_cfg = compose_train(["experiment=digits_kurtosis_ae", f"paths.run_dir={tmp_path}", *TINY])
    from ganlab.composition.build import build_module

    fresh = build_module(initial_cfg, record_config=False)
    start = {k: v.item() for k, v in fresh.losses(x, epoch=0).items() if k != "z"}
    assert module.iteration == 40
    assert trained["image_mse"] < 0.7 * start["image_mse"], (start, trained)
    assert trained["z_mse"] < 0.5 * start["z_mse"], (start, trained)


def test_without_the_regulariser_the_loss_is_the_image_mse(tmp_path):
    cfg = compose_train(["experiment=digits_kurtosis_ae", "model=ae", f"paths.run_dir={tmp_path}", *TINY])
    from ganlab.composition.build import build_module

    module = build_module(cfg, record_config=False)
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    out = module.losses(x, epoch=30)
    assert out["loss"] is out["image_mse"] and out["z_mse"] > 0
    assert module.weight_at(30) == 0.0


def test_checkpoint_round_trip_restores_codes_and_samples(tmp_path):
    from ganlab.composition.build import load_checkpoint, restore

    _, module, trainer = fit_digits(tmp_path, ["model.max_iterations=8"])
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()
    checkpoint, run_cfg = load_checkpoint(str(ckpt))
    assert checkpoint["ganlab"]["iteration"] == 8 and run_cfg.model._target_.endswith("AutoEncoderModule")
    _, restored = restore(checkpoint, run_cfg, None)
    assert restored.state_dict().keys() == module.state_dict().keys()
    saved, loaded = module.state_dict(), restored.state_dict()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)
    z = torch.randn(5, 100, generator=torch.Generator().manual_seed(0))
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    assert torch.equal(module.sample(z=z), restored.sample(z=z))
    assert torch.equal(module.reconstruct(x), restored.reconstruct(x))
    assert restored.iteration == 8


# --------------------------------------------------------------------------- latent CDF callback
def test_latent_cdf_records_chosen_epochs_without_touching_training(tmp_path):
    # 1 797 digits / 64 → 28 batches an epoch: 21 iterations stay in epoch 0, so epoch 2's start never comes
    chosen = ["callbacks.latent_cdf.epochs=[0,2]", "callbacks.latent_cdf.every_n_epochs=null"]
    datamodule, module, trainer = fit_digits(tmp_path, ["model.max_iterations=21", *chosen])
    (callback,) = [c for c in trainer.callbacks if isinstance(c, LatentCDFCallback)]
    assert [r["label"] for r in callback.records] == ["start of epoch 1", "end"]
    start, end = callback.records
    assert start["iteration"] == 0 and end["iteration"] == 21 and end["n_codes"] == 200 * 100
    module.eval()  # the callback codes in eval mode (BatchNorm's running statistics)
    with torch.no_grad():
        codes = torch.cat([module.encode(b[0]) for b in datamodule.eval_dataloader("test", 500, limit=200, seed=0)])
    assert end["ks"] == pytest.approx(ks_normal(codes), abs=1e-6)
    assert end["kurtosis"] == pytest.approx(standardized_moments(codes.double())[2].item(), rel=1e-5)
    assert (tmp_path / "samples" / "latent_cdf.png").is_file()
    import json

    latent = json.loads((tmp_path / "metrics.json").read_text())["latent"]
    assert latent["ks"] == pytest.approx(end["ks"]) and latent["iteration"] == 21
    state = callback.state_dict()
    other = LatentCDFCallback()
    other.load_state_dict(torch.load(_save(tmp_path, state), weights_only=True))  # checkpoint-safe types
    assert other.records == callback.records


def _save(tmp_path: Path, obj) -> Path:
    path = tmp_path / "state.pt"
    torch.save(obj, path)
    return path


def test_latent_cdf_measurement_leaves_the_global_rng_alone(tmp_path):
    datamodule, module, trainer = fit_digits(tmp_path, ["model.max_iterations=2"])
    (callback,) = [c for c in trainer.callbacks if isinstance(c, LatentCDFCallback)]
    torch.manual_seed(7)
    before = torch.get_rng_state()
    callback.measure(trainer, module, "probe")
    assert torch.equal(before, torch.get_rng_state())
