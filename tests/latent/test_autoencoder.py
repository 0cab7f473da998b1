"""The KL autoencoder: the posterior's KL, shapes, the latent scale and the adversarial warm-up."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from experiments import build
from experiments.configs import autoencoder_cifar10
from gen_jax.latent.autoencoder import diagonal_gaussian_kl, latent_scale
from gen_jax.nn.autoencoder import AutoencoderKL, PatchDiscriminator


def test_kl_of_the_diagonal_gaussian_equals_its_closed_form():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(3, 2, 2, 4))
    sigma = rng.uniform(0.2, 2.0, size=(3, 2, 2, 4))
    # KL(N(μ, σ²) || N(0, 1)) = log(1/σ) + (σ² + μ²)/2 − 1/2 per element, summed per sample
    expected = np.sum(-np.log(sigma) + (sigma ** 2 + mean ** 2) / 2 - 0.5, axis=(1, 2, 3))
    got = diagonal_gaussian_kl(jnp.asarray(mean, jnp.float32), jnp.asarray(2 * np.log(sigma), jnp.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_encode_decode_shapes_for_x4_and_x8():
    x = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)
    for mult, f in (((1, 2, 2), 4), ((1, 2, 2, 4), 8)):
        ae = AutoencoderKL((32, 32, 3), channels=8, channel_mult=mult, latent_channels=4)
        variables = jax.eval_shape(lambda x: ae.init(jax.random.PRNGKey(0), x, method=ae.init_all), x)
        mean, logvar = jax.eval_shape(lambda v, x: ae.apply(v, x, method=ae.encode), variables, x)
        chex.assert_shape([mean, logvar], (2, 32 // f, 32 // f, 4))
        assert ae.latent_shape == (32 // f, 32 // f, 4)
        out = jax.eval_shape(lambda v, z: ae.apply(v, z, method=ae.decode), variables, mean)
        chex.assert_shape(out, (2, 32, 32, 3))
    d = PatchDiscriminator(8, num_layers=2)
    logits = jax.eval_shape(lambda x: d.apply(d.init(jax.random.PRNGKey(0), x), x), x)
    chex.assert_shape(logits, (2, 6, 6))  # 32 -> 16 -> 8 (stride 2) -> 7 -> 6 (4x4, stride 1)


def _objective(**overrides):
    c = autoencoder_cifar10.get_config("smoke")
    c.optim.warmup_steps = 0  # D's learning rate is not 0 at its first update
    for k, v in overrides.items():
        setattr(c.objective, k, v)
    return build.objective(c, (8, 8, 1), None)


def test_latent_scale_makes_the_estimation_batch_unit_std():
    obj = _objective()
    params = jax.jit(obj.init)(jax.random.PRNGKey(0)).ema_params
    x = jax.random.uniform(jax.random.PRNGKey(1), (16, 8, 8, 1), minval=-1, maxval=1)
    scaled = jax.jit(lambda p, x: obj.latent_scale(p, x) * obj.encode(p, x)[0])(params, x)
    np.testing.assert_allclose(jnp.std(scaled), 1.0, rtol=1e-5)
    np.testing.assert_allclose(latent_scale(3.0 * jnp.arange(10.0)), 1 / (3 * np.std(np.arange(10.0))), rtol=1e-6)


def test_adversarial_term_is_exactly_zero_before_its_start_step():
    obj = _objective(disc_start=1)  # reconstruction + KL only at step 0, adversarial from step 1
    batch = {"image": jax.random.uniform(jax.random.PRNGKey(1), (4, 8, 8, 1), minval=-1, maxval=1)}
    step = jax.jit(obj.step)
    other_d = lambda s: s.replace(params={**s.params, "d": jax.tree.map(lambda p: 2 * p + 0.1, s.params["d"])})  # noqa: E731
    s0 = jax.jit(obj.init)(jax.random.PRNGKey(0))
    s1, m0 = step(s0, batch)
    s1_other, _ = step(other_d(s0), batch)
    assert float(m0["adv_weight"]) == 0.0
    # another discriminator changes nothing in the autoencoder's update, bit for bit, and D is frozen
    chex.assert_trees_all_equal(s1.params["ae"], s1_other.params["ae"])
    chex.assert_trees_all_equal(s1.params["d"], s0.params["d"])
    # from the start step on, it does, and D trains
    s2, m1 = step(s1, batch)
    s2_other, _ = step(other_d(s1), batch)
    assert float(m1["adv_weight"]) > 0.0
    assert _dist(s2.params["ae"], s2_other.params["ae"]) > 0.0
    assert _dist(s2.params["d"], s1.params["d"]) > 0.0


def _dist(a, b):
    return float(jnp.sqrt(sum(jnp.sum((x - y) ** 2) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))))
