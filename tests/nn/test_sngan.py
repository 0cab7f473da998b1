"""Spectral normalisation (σ of the normalised weight → 1), the SNGAN ResNet pair's shapes, and
conditional batch norm."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn import sngan
from gen_jax.nn.spectral_norm import sn


class _SNDense(nn.Module):
    @nn.compact
    def __call__(self, x, train=False):
        return sn(nn.Dense(6, use_bias=False), train)(x)


def test_power_iteration_drives_the_top_singular_value_to_one():
    m = _SNDense()
    eye = jnp.eye(10)  # the layer applied to I is its normalised kernel [10, 6]
    v = m.init(jax.random.PRNGKey(0), eye)
    raw = 5.0 * v["params"]["Dense_0"]["kernel"]
    v = {**v, "params": {"Dense_0": {"kernel": raw}}}
    assert np.linalg.svd(np.asarray(raw), compute_uv=False)[0] > 5  # far from 1
    sig = []
    for _ in range(15):
        w, upd = m.apply(v, eye, train=True, mutable=["spectral"])
        v = {"params": v["params"], **upd}
        sig.append(np.linalg.svd(np.asarray(w), compute_uv=False)[0])
    assert abs(sig[-1] - 1.0) < 1e-3, sig
    # σ̂ from one iteration underestimates σ, so σ(W/σ̂) starts above 1 and falls to it
    assert sig[0] > 1.2 and all(a >= b - 1e-5 for a, b in zip(sig, sig[1:]))


@pytest.mark.parametrize("size", [8, 28])
def test_resnet_pair_shapes_and_collections(size):
    g = sngan.Generator((size, size, 1), channels=8)
    z = jax.random.normal(jax.random.PRNGKey(0), (2, 4))
    gv = g.init(jax.random.PRNGKey(1), z)
    x = g.apply(gv, z)
    assert x.shape == (2, size, size, 1) and float(jnp.max(jnp.abs(x))) <= 1.0
    d = sngan.Discriminator(channels=8)
    dv = d.init(jax.random.PRNGKey(2), x)
    assert set(gv) == {"params", "batch_stats"} and set(dv) == {"params", "spectral"}
    assert d.apply(dv, x).shape == (2,)


def test_conditional_batch_norm_starts_as_plain_batch_norm_then_depends_on_the_label():
    g = sngan.Generator((8, 8, 1), channels=4, num_classes=3)
    z = jnp.ones((2, 4))
    y = jnp.array([0, 2])
    v = g.init(jax.random.PRNGKey(0), z, y)
    x = g.apply(v, z, y)
    np.testing.assert_allclose(x[0], x[1], atol=1e-6)  # γ_y = β_y = 0 at init: no label effect
    params = jax.tree_util.tree_map_with_path(
        lambda p, a: a + 0.5 * jnp.arange(3)[:, None] if "cond_bias" in jax.tree_util.keystr(p) else a, v["params"])
    x = g.apply({**v, "params": params}, z, jnp.array([0, 2]))
    assert float(jnp.max(jnp.abs(x[0] - x[1]))) > 1e-3
