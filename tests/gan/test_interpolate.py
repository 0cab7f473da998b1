"""slerp: exact endpoints, constant norm between equal-norm latents, and the grid's endpoints are
the plain samples of the same seed."""

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.gan.interpolate import slerp, slerp_grid


def test_slerp_endpoints_are_exact_and_norm_is_kept():
    z0, z1 = jax.random.normal(jax.random.PRNGKey(0), (2, 16))
    z1 = z1 * jnp.linalg.norm(z0) / jnp.linalg.norm(z1)
    out = slerp(z0, z1, jnp.linspace(0, 1, 7))
    np.testing.assert_array_equal(out[0], z0)
    np.testing.assert_array_equal(out[-1], z1)
    np.testing.assert_allclose(jnp.linalg.norm(out, axis=1), jnp.linalg.norm(z0), rtol=1e-5)


def test_slerp_of_orthogonal_unit_vectors_is_on_the_circle():
    out = slerp(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), jnp.array([0.5]))
    np.testing.assert_allclose(out[0], [np.sqrt(0.5), np.sqrt(0.5)], rtol=1e-6)


def test_parallel_latents_fall_back_to_lerp():
    z = jnp.array([1.0, 2.0])
    np.testing.assert_allclose(slerp(z, 3 * z, jnp.array([0.5]))[0], 2 * z, rtol=1e-6)


def test_grid_rows_start_and_end_at_the_sample_latents():
    key = jax.random.PRNGKey(5)
    z = slerp_grid(key, rows=2, cols=4, z_dim=3).reshape(2, 4, 3)
    for i, (r, c) in enumerate([(0, 0), (0, 3), (1, 0), (1, 3)]):
        np.testing.assert_array_equal(z[r, c], jax.random.normal(jax.random.fold_in(key, i), (3,)))
