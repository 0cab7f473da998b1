"""Reflow pairs and the straightness metric, on flows whose trajectories are known."""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gaussian_flow import MU, S, endpoint, velocity  # noqa: E402

from gen_jax.flow.reflow import objective_pairs, reflow_pairs, straightness  # noqa: E402

Z = jax.random.normal(jax.random.PRNGKey(0), (6, 4, 4, 1))


def test_a_straight_flow_has_straightness_zero():
    """Data at one point μ: v*(x, t) = (x − μ)/t sends every z along the line to μ at constant
    speed (a non-constant field, but straight trajectories), so S = 0; a constant field too."""
    point = lambda x, t: (x - MU) / t.reshape(-1, 1, 1, 1)
    s_point = straightness(point, Z, 8, shift=3.0)
    s_const = straightness(lambda x, t: jnp.full_like(x, 0.3), Z, 8)
    assert s_point.shape == (6,)
    np.testing.assert_allclose(s_point, 0.0, atol=1e-10)
    np.testing.assert_allclose(s_const, 0.0, atol=1e-10)


def test_gaussian_straightness_matches_the_closed_form():
    """For N(μ, s²) data the trajectory is x_t = m_t + σ_t·z with σ_t = √((1−t)²s² + t²), so
    v − (z − x0) = (σ'_t − (1 − s))·z and S = mean(z²)·(∫σ'² dt − (1 − s)²) > 0."""
    t = np.linspace(0, 1, 200001)
    sigma = np.sqrt((1 - t) ** 2 * S**2 + t**2)
    exact = np.trapezoid(np.gradient(sigma, t) ** 2, t) - (1 - S) ** 2
    got = straightness(velocity, Z, 256) / jnp.mean(Z**2, axis=(1, 2, 3))
    assert exact > 0.05
    np.testing.assert_allclose(got, exact, rtol=0.02)
    # the debug loop agrees with the scan
    np.testing.assert_allclose(straightness(velocity, Z, 5, debug=True), straightness(velocity, Z, 5),
                               rtol=1e-5)


def test_reflow_pairs_are_the_ode_coupling():
    z, x0 = reflow_pairs(velocity, Z, 64, sampler="rf_heun")
    np.testing.assert_array_equal(z, Z)
    np.testing.assert_allclose(x0, endpoint(Z), atol=1e-3)
    # the pairs' straight path is the exact ODE path here: reflow would not change this flow
    assert float(jnp.max(jnp.abs((x0 - MU) / S - z))) < 1e-2


def test_objective_pairs_use_the_samplers_noise():
    """Pair b's z is the noise the objective's sampler starts from with key b."""
    from test_flow_objective import tiny_flow

    obj = tiny_flow(conditional=False)
    params = obj.init(jax.random.PRNGKey(0)).params  # zero output layer: v = 0, so x0 = clip(z)
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    z, x0 = jax.jit(lambda k: objective_pairs(obj, params, k, num_steps=2, sampler="rf_euler"))(keys)
    np.testing.assert_allclose(z[1], jax.random.normal(keys[1], (8, 8, 1)), atol=1e-6)
    np.testing.assert_allclose(x0, jnp.clip(z, -1, 1), atol=1e-6)
