"""Second-order unrolling optimises Metz et al.'s surrogate f_K(θ_G) = f(θ_G, θ_D^K(θ_G)) (issue #29).

The gradient GANModule computes for G is checked against central finite differences of the surrogate, evaluated
independently: K steps of a real ``torch.optim.Adam`` on a copy of D (its warm state copied in) at G's perturbed
parameters, then G's objective at D_K — data term included. The first-order gradient is checked against the same
independent look-ahead with D_K held constant.
"""

import copy

import pytest
import torch
from test_gan_module import fit

from ganlab.losses import GANLoss, LeastSquares, Minimax, NonSaturating, Wasserstein
from ganlab.modules import GANModule
from ganlab.nets import MLPDiscriminator, MLPGenerator

LATENT, BATCH = 3, 16
#: ε far below √v̂, so that its placement (the differentiable look-ahead's √(v̂ + ε²) against torch's √v̂ + ε) moves
#: the surrogate by less than the tolerance: the oracle is torch's own Adam
ADAM = {"lr": 5e-2, "betas": (0.5, 0.999), "eps": 1e-12}


def _module(objective, steps: int, mode: str, surrogate: str = "game", real_label: float = 1.0) -> GANModule:
    torch.manual_seed(3)
    module = GANModule(
        MLPGenerator(latent_dim=LATENT, hidden=(4,), activation="tanh"),
        MLPDiscriminator(hidden=(5,), activation="tanh"),
        GANLoss(objective),
        lambda p: torch.optim.Adam(p, **ADAM),
        lambda p: torch.optim.Adam(p, **ADAM),
        latent_dim=LATENT,
        unroll_steps=steps,
        unroll_mode=mode,
        unroll_surrogate=surrogate,
        real_label=real_label,
    )
    fit(module, iterations=3)  # Adam's moments and step counts are non-zero: the look-ahead starts from them
    module.double()
    for opt in module.trainer.optimizers:
        for state in opt.state.values():
            for key in ("exp_avg", "exp_avg_sq"):
                state[key] = state[key].double()
    return module


def _batch():
    gen = torch.Generator().manual_seed(11)
    real = torch.randn(BATCH, 2, generator=gen, dtype=torch.float64) * 0.3 + 1.0
    return real, torch.randn(BATCH, LATENT, generator=gen, dtype=torch.float64)


def _module_gradient(module: GANModule, real, z) -> torch.Tensor:
    opt_g = module.optimizers()[0]
    module._generator_gradient(real, None, opt_g, module.generator(z))
    return torch.cat([p.grad.flatten() for p in module.generator.parameters()])


def _d_after_k_steps(module: GANModule, real, fake, steps: int):
    """D after ``steps`` updates of a real torch Adam, its warm state copied from the module's optimizer."""
    d = copy.deepcopy(module.discriminator)
    opt = torch.optim.Adam(d.parameters(), **ADAM)
    opt.load_state_dict(copy.deepcopy(module.trainer.optimizers[1].state_dict()))
    objective = module.loss.objective
    for _ in range(steps):
        opt.zero_grad()
        objective.d_loss(d(real), d(fake.detach()), module.real_label).backward()
        opt.step()
    return d


def _surrogate(module: GANModule, theta: torch.Tensor, real, z) -> float:
    """f_K at G's parameters ``theta``: G's objective at D after K real Adam steps on (real, G_θ(z))."""
    g = copy.deepcopy(module.generator)
    torch.nn.utils.vector_to_parameters(theta, g.parameters())
    with torch.no_grad():
        fake = g(z)
    with torch.enable_grad():
        d_k = _d_after_k_steps(module, real, fake, module.unroll_steps)
    with torch.no_grad():
        objective, surrogate = module.loss.objective, module.unroll_surrogate.value
        value = objective.g_loss(d_k(fake))
        if surrogate == "game":
            value = value - objective.d_real(d_k(real), module.real_label)
        elif surrogate == "own" and objective.g_data(d_k(real), module.real_label) is not None:
            value = value + objective.g_data(d_k(real), module.real_label)
    return float(value)


def _finite_differences(module: GANModule, real, z, h: float = 1e-5) -> torch.Tensor:
    theta = torch.nn.utils.parameters_to_vector(module.generator.parameters()).detach()
    grad = torch.empty_like(theta)
    for i in range(theta.numel()):
        step = torch.zeros_like(theta)
        step[i] = h
        grad[i] = (_surrogate(module, theta + step, real, z) - _surrogate(module, theta - step, real, z)) / (2 * h)
    return grad


CASES = {
    "minimax": (Minimax, "game", 1.0),
    "minimax_smoothed": (Minimax, "game", 0.9),
    "wasserstein": (Wasserstein, "game", 1.0),
    "non_saturating": (NonSaturating, "game", 1.0),
    "lsgan_own": (LeastSquares, "own", 1.0),
    "non_saturating_fake_only": (NonSaturating, "fake_only", 1.0),
}


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("case", CASES)
def test_second_order_gradient_equals_finite_differences_of_the_surrogate(case, steps):
    objective, surrogate, real_label = CASES[case]
    module = _module(objective(), steps, "second_order", surrogate, real_label)
    real, z = _batch()
    analytic = _module_gradient(module, real, z)
    numeric = _finite_differences(module, real, z)
    assert numeric.abs().max() > 1e-4  # a gradient worth comparing
    torch.testing.assert_close(analytic, numeric, rtol=1e-6, atol=1e-6 * float(numeric.abs().max()))


@pytest.mark.parametrize("steps", [1, 3])
def test_the_data_term_matters_in_second_order(steps):
    """Without D_K's data term (fake_only, ganlab before #29) the gradient is another one."""
    real, z = _batch()
    game = _module_gradient(_module(Minimax(), steps, "second_order", "game"), real, z)
    fake_only = _module_gradient(_module(Minimax(), steps, "second_order", "fake_only"), real, z)
    assert (game - fake_only).norm() > 1e-3 * game.norm()


@pytest.mark.parametrize("surrogate", ["game", "own", "fake_only"])
def test_first_order_gradient_is_g_loss_at_a_constant_lookahead(surrogate):
    """First order (the course report's method) is unchanged: ∇_G loss_G(D_K(G(z))) with D_K a constant, whatever
    the surrogate setting (a data term has no gradient there)."""
    module = _module(NonSaturating(), 3, "first_order", surrogate)
    real, z = _batch()
    analytic = _module_gradient(module, real, z)
    g = copy.deepcopy(module.generator)
    fake = g(z)
    d_k = _d_after_k_steps(module, real, fake, 3).requires_grad_(False)
    grads = torch.autograd.grad(module.loss.objective.g_loss(d_k(fake)), list(g.parameters()))
    torch.testing.assert_close(analytic, torch.cat([gr.flatten() for gr in grads]), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("objective", [Minimax, Wasserstein])
def test_zero_sum_surrogate_is_minus_d_loss(objective):
    """For the zero-sum objectives ``game`` and ``own`` are both −L_D: the reference notebook's −unrolled_loss."""
    torch.manual_seed(0)
    d = MLPDiscriminator(hidden=(5,))
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    loss = GANLoss(objective())
    minus_d = -loss.discriminator(d, real, fake, 0.9).total
    for surrogate in ("game", "own"):
        torch.testing.assert_close(loss.surrogate(d, real, fake, 0.9, surrogate), minus_d)
    torch.testing.assert_close(loss.surrogate(d, real, fake, 0.9, "fake_only"), loss.generator(d, fake)[0])


def test_lsgan_own_data_term_is_mao_et_al():
    """LSGAN's own G objective (Mao et al. §3.2): ½E[(D(G(z)) − c)²] + ½E[(D(x) − c)²], c = 1; ``game`` subtracts
    D's data term ½E[(D(x) − b)²] instead."""
    d = lambda x: x[:, 0]  # noqa: E731
    real, fake = torch.tensor([[0.0, 0.0], [2.0, 0.0]]), torch.tensor([[3.0, 0.0], [1.0, 0.0]])
    loss = GANLoss(LeastSquares())
    fake_term = 0.5 * (4.0 + 0.0) / 2
    assert float(loss.surrogate(d, real, fake, 1.0, "own")) == pytest.approx(fake_term + 0.5 * (1.0 + 1.0) / 2)
    assert float(loss.surrogate(d, real, fake, 0.5, "game")) == pytest.approx(fake_term - 0.5 * (0.25 + 2.25) / 2)


def test_unknown_surrogate_is_refused():
    with pytest.raises(ValueError, match="third"):
        GANLoss(Minimax()).surrogate(lambda x: x[:, 0], torch.zeros(2, 2), torch.zeros(2, 2), 1.0, "third")
