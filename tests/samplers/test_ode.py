import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.schedules import make_schedule
from gen_jax.samplers.ode import bits_per_dim, log_likelihood, ode_sample

sys.path.insert(0, str(Path(__file__).parent))
from analytic import MU, S, gaussian_denoiser  # noqa: E402



def test_adaptive_ode_samples_have_the_data_distribution():
    s = make_schedule("linear", 1000)
    x_T = jax.random.normal(jax.random.PRNGKey(0), (512, 2, 2, 1))
    x0, nfe = jax.jit(lambda x: ode_sample(gaussian_denoiser(s), s, x))(x_T)
    assert float(x0.mean()) == pytest.approx(MU, abs=0.02)
    assert float(x0.std()) == pytest.approx(S, abs=0.01)
    assert 20 < int(nfe.max()) < 2000
    # per-sample solves: a sample is the same alone as in its batch
    alone, _ = jax.jit(lambda x: ode_sample(gaussian_denoiser(s), s, x))(x_T[:1])
    np.testing.assert_allclose(alone, x0[:1], atol=1e-5)


def test_likelihood_matches_the_analytic_density():
    """For N(MU, S²) data the PF-ODE density at t=0 is N(MU, S² + σ_min²) per pixel."""
    s = make_schedule("linear", 1000)
    x = MU + S * jax.random.normal(jax.random.PRNGKey(1), (8, 2, 2, 1))
    var = S**2 + float(s.sigmas[0]) ** 2
    want = np.sum(-0.5 * (np.asarray(x) - MU) ** 2 / var - 0.5 * np.log(2 * np.pi * var), axis=(1, 2, 3))
    exact = jax.jit(lambda x: log_likelihood(gaussian_denoiser(s), s, x, exact_divergence=True))(x)
    np.testing.assert_allclose(exact, want, atol=0.02)
    # Hutchinson: unbiased; the mean over probes approaches the exact value
    hutch = jax.jit(jax.vmap(lambda k: log_likelihood(gaussian_denoiser(s), s, x, k)))(
        jax.random.split(jax.random.PRNGKey(2), 64))
    np.testing.assert_allclose(hutch.mean(0), want, atol=0.15)
    bpd = bits_per_dim(jnp.asarray(want), 4)
    assert np.all(np.isfinite(bpd))
