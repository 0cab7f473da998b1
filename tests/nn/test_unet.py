import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.layers import timestep_embedding
from gen_jax.nn.unet import UNet

TINY = dict(channels=8, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(4,), num_heads=2)


def test_output_shape_dtype_and_zero_init_output():
    m = UNet(**TINY)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 8, 8, 3))
    t = jnp.array([0, 10, 999])
    params = jax.jit(m.init)(jax.random.PRNGKey(1), x, t)
    out = jax.jit(m.apply)(params, x, t)
    chex.assert_shape(out, x.shape)
    chex.assert_type(out, jnp.float32)
    # The last conv is zero-initialised (so the initial eps prediction is 0: loss starts at 1).
    assert float(jnp.abs(out).max()) == 0.0


def test_output_depends_on_timestep_and_class_with_null_class():
    m = UNet(**TINY, num_classes=10)
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 1))
    params = jax.jit(m.init)(jax.random.PRNGKey(1), x, jnp.zeros(2, jnp.int32), jnp.zeros(2, jnp.int32))
    # perturb the zero-initialised output layers so that outputs are informative
    params = jax.tree.map(lambda p: p + 0.05 * jax.random.normal(jax.random.PRNGKey(2), p.shape), params)
    apply = jax.jit(m.apply)
    f = lambda t, y: apply(params, x, jnp.full(2, t), y)
    a = f(5, jnp.array([1, 1]))
    assert not np.allclose(a, f(500, jnp.array([1, 1])))
    assert not np.allclose(a, f(5, jnp.array([2, 2])))
    # labels=None means the null class (index num_classes)
    np.testing.assert_allclose(apply(params, x, jnp.full(2, 5), None), f(5, jnp.array([10, 10])), atol=1e-6)


def test_bad_resolution_is_a_clear_error():
    m = UNet(**{**TINY, "channel_mult": (1, 2, 2)})
    with pytest.raises(ValueError, match="divisible by 4; got 6x6"):
        m.init(jax.random.PRNGKey(0), jnp.zeros((1, 6, 6, 1)), jnp.zeros(1))


def test_timestep_embedding_known_values():
    e = timestep_embedding(jnp.array([0.0, 1.0]), 4)
    # freqs = [1, 1e-2]; [cos(t f), sin(t f)]
    np.testing.assert_allclose(e[0], [1, 1, 0, 0], atol=1e-7)
    np.testing.assert_allclose(e[1], [np.cos(1), np.cos(0.01), np.sin(1), np.sin(0.01)], atol=1e-6)
