"""DCGAN shapes for every supported size, conditioning, batch norm's two modes, spectral norm in
D, and the bad-size error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.dcgan import Discriminator, Generator, base_size


@pytest.mark.parametrize("size,expected", [(8, (4, 1)), (16, (4, 2)), (28, (7, 2)), (32, (4, 3))])
def test_base_size(size, expected):
    assert base_size(size) == expected


@pytest.mark.parametrize("size,c", [(8, 1), (28, 1), (32, 3)])
def test_generator_and_discriminator_shapes(size, c):
    g = Generator((size, size, c), channels=4)
    z = jax.random.normal(jax.random.PRNGKey(0), (2, 16))
    gv = g.init(jax.random.PRNGKey(1), z)
    x = g.apply(gv, z)
    assert x.shape == (2, size, size, c)
    assert float(jnp.max(jnp.abs(x))) <= 1.0
    d = Discriminator(channels=4)
    dp = d.init(jax.random.PRNGKey(2), x)["params"]
    assert d.apply({"params": dp}, x).shape == (2,)


def test_conditioning_changes_outputs_by_label():
    g = Generator((8, 8, 1), channels=4, num_classes=3, norm="none")
    d = Discriminator(channels=4, num_classes=3)
    z = jnp.ones((2, 8))
    y0, y1 = jnp.array([0, 0]), jnp.array([1, 2])
    gp = g.init(jax.random.PRNGKey(0), z, y0)["params"]
    x0, x1 = g.apply({"params": gp}, z, y0), g.apply({"params": gp}, z, y1)
    np.testing.assert_array_equal(x0[0], x0[1])
    assert float(jnp.max(jnp.abs(x0 - x1))) > 0
    dp = d.init(jax.random.PRNGKey(1), x0, y0)["params"]
    assert float(jnp.max(jnp.abs(d.apply({"params": dp}, x0, y0) - d.apply({"params": dp}, x0, y1)))) > 0


def test_bad_size_is_named():
    with pytest.raises(ValueError, match="got 7"):
        base_size(7)


def test_batch_norm_trains_on_batch_statistics_and_samples_with_running_ones():
    g = Generator((8, 8, 1), channels=4, norm="batch")
    z = jax.random.normal(jax.random.PRNGKey(0), (6, 8))
    v = g.init(jax.random.PRNGKey(1), z)
    assert set(v) == {"params", "batch_stats"}
    # eval: running statistics, so a sample does not depend on the rest of its batch
    np.testing.assert_allclose(g.apply(v, z)[:2], g.apply(v, z[:2]), atol=1e-6)
    # train: batch statistics (a sample depends on its batch) and updated running ones
    x6, upd = g.apply(v, z, train=True, mutable=["batch_stats"])
    x2, _ = g.apply(v, z[:2], train=True, mutable=["batch_stats"])
    assert float(jnp.max(jnp.abs(x6[:2] - x2))) > 1e-4
    mean0 = v["batch_stats"]["GNorm_0"]["BatchNorm_0"]["mean"]
    mean1 = upd["batch_stats"]["GNorm_0"]["BatchNorm_0"]["mean"]
    assert float(jnp.max(jnp.abs(mean1 - mean0))) > 0


def test_spectral_norm_discriminator_keeps_power_iteration_vectors():
    d = Discriminator(channels=4, spectral_norm=True)
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 1))
    v = d.init(jax.random.PRNGKey(1), x)
    assert set(v) == {"params", "spectral"}
    f0 = d.apply(v, x)
    np.testing.assert_array_equal(d.apply(v, x), f0)  # eval: deterministic, nothing stored
    _, upd = d.apply(v, x, train=True, mutable=["spectral"])
    moved = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), v["spectral"], upd["spectral"])
    assert max(jax.tree.leaves(moved)) > 0
