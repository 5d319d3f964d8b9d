"""StyleGAN2's lazy-regularisation correction of D's optimizer (ganlab/composition/lazy_regularisation.py)."""

import pytest
from hydra import compose, initialize_config_dir

from ganlab.common.errors import CONF_DIR
from ganlab.composition.build import build_module

BASE = ["experiment=digits_dcgan", "model.discriminator.norm=layer", "optim=adam"]


def d_group(overrides: list[str]) -> dict:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*BASE, *overrides])
    module = build_module(cfg, record_config=False)
    optimizers = [entry["optimizer"] for entry in module.configure_optimizers()]
    return optimizers[1].param_groups[0]  # (G, D)


@pytest.mark.parametrize(("penalties", "interval"), [(["+loss/penalty=r1", "loss.penalties.r1.every=16"], 16),
                                                     (["+loss/penalty=[r1,lecam]", "loss.penalties.r1.every=4",
                                                       "loss.penalties.lecam.every=8"], 8)])  # fmt: skip
def test_a_lazy_penalty_slows_d_by_n_over_n_plus_1(capsys, penalties, interval):
    plain = d_group([])
    lazy = d_group(penalties)
    ratio = interval / (interval + 1)
    assert lazy["lr"] == pytest.approx(plain["lr"] * ratio)
    assert lazy["betas"] == pytest.approx(tuple(b**ratio for b in plain["betas"]))
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "lazy regularisation" in x]
    assert f"every {interval} iterations" in line and "StyleGAN2" in line


def test_an_eager_penalty_leaves_the_optimizer_as_configured(capsys):
    assert d_group(["+loss/penalty=r1"])["lr"] == d_group([])["lr"]
    assert "lazy regularisation" not in capsys.readouterr().out
