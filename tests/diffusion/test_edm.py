"""EDM (Karras et al. 2022) as one noise path: its σ grid, preconditioning and weighted loss, and
every deterministic sampler of the registry converging on it to the exact PF-ODE endpoint of an
exact Gaussian denoiser."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.process import (SIGMA_DATA, EDMPath, broadcast_coefficients,
                                       edm_preconditioning, from_x0_eps, to_x0_eps)
from gen_jax.samplers import SAMPLERS
from gen_jax.samplers.karras import karras_sigmas
from gen_jax.samplers.views import views_of


def test_uniform_t_is_the_edm_sigma_grid():
    path = EDMPath()
    n = 18
    t = jnp.linspace(1.0, 0.0, n)
    _, sigma = path.alpha_sigma(t)
    ref = karras_sigmas(jnp.arange(n), n, 0.002, 80.0, 7.0)
    np.testing.assert_allclose(sigma, ref, rtol=1e-5)
    np.testing.assert_allclose(path.t_of_logsnr(path.logsnr(t)), t, atol=1e-5)


def test_preconditioning_values_and_weighted_loss():
    """Table 1 at σ = σ_data, and MSE in F-space = λ(σ)·‖D − x0‖² with λ = (σ² + σ_d²)/(σ·σ_d)²."""
    c_skip, c_out, c_in = edm_preconditioning(jnp.float32(SIGMA_DATA))
    np.testing.assert_allclose([c_skip, c_out, c_in],
                               [0.5, SIGMA_DATA / np.sqrt(2), 1 / (SIGMA_DATA * np.sqrt(2))], rtol=1e-6)
    k0, k1, k2 = jax.random.split(jax.random.PRNGKey(0), 3)
    x0, eps, f_hat = (jax.random.normal(k, (4, 3)) for k in (k0, k1, k2))
    sigma = jnp.array([0.01, 0.3, 2.0, 40.0])[:, None]
    coef = (jnp.ones_like(sigma), sigma, jnp.zeros_like(sigma), jnp.ones_like(sigma))
    x_t = x0 + sigma * eps
    target = from_x0_eps("edm", x0, eps, *coef)
    d_hat, _ = to_x0_eps("edm", f_hat, x_t, *coef)
    lam = (sigma**2 + SIGMA_DATA**2) / (sigma * SIGMA_DATA) ** 2
    np.testing.assert_allclose(jnp.sum((f_hat - target) ** 2, -1),
                               jnp.sum(lam * (d_hat - x0) ** 2, -1), rtol=1e-4)


MU, S = 0.3, 0.5  # data ~ N(MU, S²) per element


def _exact_edm_model(path):
    """The exact F of Gaussian data: D(x; σ) = MU + S²/(S² + σ²)·(x − MU) on the EDM path (α = 1)."""

    def model_fn(x_t, t):
        coef = broadcast_coefficients(path, t, x_t)
        sigma = coef[1]
        x0 = MU + S**2 / (S**2 + sigma**2) * (x_t - MU)
        c_skip, c_out, _ = edm_preconditioning(sigma)
        return (x0 - c_skip * x_t) / c_out

    return model_fn


ORDER = {"ddim": 1, "euler": 1, "rf_euler": 1}  # the others are second order
DETERMINISTIC = [n for n in SAMPLERS if n not in ("ddpm", "pc", "euler_ancestral")]


@pytest.mark.parametrize("sampler", DETERMINISTIC)
def test_every_deterministic_sampler_converges_on_the_edm_path(sampler):
    path = EDMPath()
    views = views_of(_exact_edm_model(path), path, "edm")
    z = jax.random.normal(jax.random.PRNGKey(1), (64, 2))
    if SAMPLERS[sampler].view == "vp":  # starts at the table's σ_max = 80 with x = z·√(1 + σ²)
        sigma0 = 80.0
        exact = MU + (z * np.sqrt(1 + sigma0**2) - MU) * S / np.sqrt(S**2 + sigma0**2)
    else:  # the rectified-flow view starts from pure noise (σ = ∞): x0 = MU + S·z
        exact = MU + S * z
    run = jax.jit(lambda n: SAMPLERS[sampler].fn(
        *((views.denoise, views.schedule, z, jax.random.PRNGKey(2)) if SAMPLERS[sampler].view == "vp"
          else (views.velocity, z)), n, **({"clip_x0": False} if "clip_x0" in SAMPLERS[sampler].options else {})))
    errors = [float(jnp.max(jnp.abs(run(n) - exact))) for n in (10, 40)]
    order = ORDER.get(sampler, 2)
    # 4× the steps: the error falls by about 4^order (or is already at float32's floor)
    assert errors[1] < 2e-3 or errors[1] < errors[0] * 4.0 ** -order * 2.0, (sampler, errors)
    assert errors[1] < (0.1 if order == 1 else 0.02), (sampler, errors)


def test_edm_smoke_config_trains_and_samples_with_heun(tmp_path):
    from experiments.configs import diffusion_default
    from experiments.sampling import load_objective_and_params
    from experiments.train import run

    c = diffusion_default.get_config("edm_smoke")
    c.train.num_final_samples = 0
    run(c, str(tmp_path), progress=False)
    _, obj, state, _ = load_objective_and_params(str(tmp_path))
    assert type(obj.process).__name__ == "EDMPath" and obj.prediction == "edm"
    x = obj.sample(state.ema_params, jax.random.PRNGKey(0), 2, sampler="heun", num_steps=3)
    assert x.shape == (2, 8, 8, 1) and bool(jnp.all(jnp.isfinite(x)))
