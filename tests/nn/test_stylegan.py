"""StyleGAN2-style generator: demodulation gives unit-variance outputs (Karras et al. 2020, eq. 3),
truncation ψ = 0 maps every z to one image, w_avg is an EMA of w, style mixing acts in training,
the 28 px output is a crop of 32."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.stylegan import Generator, MappingNetwork, ModulatedConv, synthesis_size


def test_demodulated_conv_has_unit_std_per_output_channel():
    conv = ModulatedConv(6)
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 40, 40, 5))
    w = 3.0 * jax.random.normal(jax.random.PRNGKey(1), (2, 7))  # styles far from 1
    v = conv.init(jax.random.PRNGKey(2), x, w)
    y = conv.apply(v, x, w)[:, 1:-1, 1:-1]  # interior: the 3×3 window sees no zero padding
    std = np.asarray(jnp.std(y, axis=(1, 2)))  # [B, C_out]
    np.testing.assert_allclose(std, 1.0, atol=0.06)
    y_mod = ModulatedConv(6, demodulate=False).apply(v, x, w)[:, 1:-1, 1:-1]
    assert np.abs(np.asarray(jnp.std(y_mod, axis=(1, 2))) - 1).max() > 0.3  # without eq. 3: not 1


def _gen(size=8, **kw):
    return Generator((size, size, 1), channels=4, w_dim=8, mapping_layers=2, **kw)


def test_truncation_zero_gives_one_image_for_every_z():
    g = _gen()
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 6))
    v = g.init(jax.random.PRNGKey(1), z)
    v = {**v, "stats": {"w_avg": jax.random.normal(jax.random.PRNGKey(2), (8,))}}
    x0 = g.apply(v, z, truncation_psi=0.0)
    np.testing.assert_allclose(x0, jnp.broadcast_to(x0[:1], x0.shape), atol=1e-6)
    x1 = g.apply(v, z)
    assert float(jnp.max(jnp.abs(x1[0] - x1[1]))) > 1e-3
    np.testing.assert_allclose(g.apply(v, z, truncation_psi=jnp.float32(1.0)), x1, atol=1e-5)


def test_w_avg_is_an_ema_of_w_and_mixing_acts_only_in_training():
    z = jax.random.normal(jax.random.PRNGKey(0), (4, 6))
    rngs = {"noise": jax.random.PRNGKey(3)}
    g = _gen(style_mixing_prob=0.0, w_avg_beta=0.9)
    v = g.init(jax.random.PRNGKey(1), z)
    x_eval = g.apply(v, z)
    x_train, upd = g.apply(v, z, train=True, mutable=["stats"], rngs=rngs)
    # noise strengths start at 0, so without mixing the training mode draws the same images;
    # w_avg (0 at init) moves to β·0 + (1 - β)·mean(w)
    np.testing.assert_allclose(x_train, x_eval, atol=1e-5)
    w = MappingNetwork(8, 2).apply({"params": v["params"]["MappingNetwork_0"]}, z)
    np.testing.assert_allclose(upd["stats"]["w_avg"], 0.1 * jnp.mean(w, 0), rtol=1e-5, atol=1e-6)
    g_mix = _gen(style_mixing_prob=1.0)
    x_mix, _ = g_mix.apply(v, z, train=True, mutable=["stats"], rngs=rngs)
    assert float(jnp.max(jnp.abs(x_mix - x_eval))) > 1e-3


@pytest.mark.parametrize("size,expected", [(8, (8, 1)), (28, (32, 3)), (32, (32, 3))])
def test_synthesis_size(size, expected):
    assert synthesis_size(size) == expected


def test_28px_output_is_the_centre_of_the_32px_synthesis():
    z = jax.random.normal(jax.random.PRNGKey(0), (2, 6))
    g28, g32 = _gen(28), _gen(32)
    v = g32.init(jax.random.PRNGKey(1), z)
    np.testing.assert_allclose(g28.apply(v, z), g32.apply(v, z)[:, 2:30, 2:30], atol=1e-6)


def test_class_embedding_enters_the_mapping_network():
    # conditional G (StyleGAN2-ADA's way): the label's embedding joins z before the mapping, so
    # one z gives one image per label, and the same (z, label) gives the same image
    g = _gen(num_classes=3)
    z = jnp.broadcast_to(jax.random.normal(jax.random.PRNGKey(0), (1, 6)), (3, 6))
    labels = jnp.array([1, 1, 2])
    v = g.init(jax.random.PRNGKey(1), z, labels)
    x = g.apply(v, z, labels)
    np.testing.assert_allclose(x[0], x[1], atol=1e-6)
    assert float(jnp.max(jnp.abs(x[0] - x[2]))) > 1e-3
