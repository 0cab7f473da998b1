"""The rectified-flow objective's math on hand-computed cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.flow.rectified_flow import (flow_matching_loss, interpolate, sample_time, shift_time,
                                         target_velocity)


def test_loss_value_on_a_known_tiny_case():
    """A zero velocity net: the loss is mean((z − x0)²) for the key's own z, computed by hand."""
    x0 = jnp.array([[1.0, -1.0], [0.5, 0.0]]).reshape(2, 1, 2, 1)
    key = jax.random.PRNGKey(3)
    seen = {}

    def velocity(x_t, t):
        seen["x_t"], seen["t"] = x_t, t
        return jnp.zeros_like(x_t)

    loss = flow_matching_loss(velocity, x0, key)
    z = jax.random.normal(jax.random.split(key)[1], x0.shape)
    t = np.asarray(seen["t"]).reshape(2, 1, 1, 1)
    np.testing.assert_allclose(loss, np.mean((np.asarray(z) - np.asarray(x0)) ** 2), rtol=1e-6)
    np.testing.assert_allclose(seen["x_t"], (1 - t) * x0 + t * z, rtol=1e-6)
    # the exact target gives zero loss
    assert float(flow_matching_loss(lambda x_t, t: z - x0, x0, key)) == 0.0


def test_path_ends_and_velocity():
    x0, z = jnp.full((2, 3), 2.0), jnp.full((2, 3), -1.0)
    np.testing.assert_array_equal(interpolate(x0, z, jnp.zeros(2)), x0)
    np.testing.assert_array_equal(interpolate(x0, z, jnp.ones(2)), z)
    # d/dt x_t by finite difference = z − x0
    dt = 1e-3
    fd = (interpolate(x0, z, jnp.full(2, 0.3 + dt)) - interpolate(x0, z, jnp.full(2, 0.3))) / dt
    np.testing.assert_allclose(fd, target_velocity(x0, z), rtol=1e-3)


def test_shift_fixes_ends_and_matches_sd3():
    t = jnp.array([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(shift_time(t, 3.0), [0.0, 0.5, 0.75, 1.0], rtol=1e-6)
    np.testing.assert_allclose(shift_time(t, 1.0), t)


def test_time_sampling_moments():
    key = jax.random.PRNGKey(0)
    u = sample_time(key, 20000, "uniform")
    assert abs(float(u.mean()) - 0.5) < 0.01 and abs(float(u.var()) - 1 / 12) < 0.003
    ln = sample_time(key, 20000, "logit_normal", mean=0.5, scale=0.8)
    logit = np.log(ln / (1 - ln))
    assert abs(logit.mean() - 0.5) < 0.02 and abs(logit.std() - 0.8) < 0.02
    # shift s > 1 moves samples toward the noise end: the median maps through the formula
    sh = sample_time(key, 20000, "uniform", shift=3.0)
    np.testing.assert_allclose(np.median(sh), 0.75, atol=0.01)
    with pytest.raises(ValueError, match="cosine"):
        sample_time(key, 4, "cosine")
