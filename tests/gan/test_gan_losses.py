"""GAN losses against direct NumPy formulas, and the penalties of a linear critic exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.gan import losses

REAL = np.array([2.0, -1.0, 0.5, 3.0], np.float32)
FAKE = np.array([-2.0, 0.3, 1.5, -0.7], np.float32)


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a.astype(np.float64)))


@pytest.mark.parametrize("name,expected", [
    ("nonsaturating", -np.mean(np.log(_sig(REAL))) - np.mean(np.log(1 - _sig(FAKE)))),
    ("minimax", -np.mean(np.log(_sig(REAL))) - np.mean(np.log(1 - _sig(FAKE)))),
    ("hinge", np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE))),
    ("wgan-gp", FAKE.mean() - REAL.mean()),
])
def test_d_loss_matches_numpy(name, expected):
    np.testing.assert_allclose(losses.d_loss(name, REAL, FAKE), expected, rtol=1e-5)


@pytest.mark.parametrize("name,expected", [
    ("nonsaturating", -np.mean(np.log(_sig(FAKE)))),
    ("minimax", np.mean(np.log(1 - _sig(FAKE)))),
    ("hinge", -FAKE.mean()),
    ("wgan-gp", -FAKE.mean()),
])
def test_g_loss_matches_numpy(name, expected):
    np.testing.assert_allclose(losses.g_loss(name, FAKE), expected, rtol=1e-5)


def test_minimax_saturates_where_nonsaturating_does_not():
    # A confident D (f(G(z)) = -10): the minimax gradient vanishes, the non-saturating one is ~1.
    f = jnp.array([-10.0])
    g_mm = jax.grad(lambda f: losses.g_loss("minimax", f))(f)
    g_ns = jax.grad(lambda f: losses.g_loss("nonsaturating", f))(f)
    assert abs(float(g_mm[0])) < 1e-4 and abs(float(g_ns[0])) > 0.99


def test_unknown_loss_names_the_choices():
    with pytest.raises(ValueError, match="wgan-gp"):
        losses.d_loss("lsgan", REAL, FAKE)


def test_gradient_penalty_of_a_linear_critic_is_exact():
    w = jnp.array(np.random.default_rng(0).normal(size=(4, 4, 1)), jnp.float32)
    critic = lambda x: jnp.sum(x * w, axis=(1, 2, 3))  # noqa: E731
    real = jax.random.normal(jax.random.PRNGKey(1), (5, 4, 4, 1))
    fake = jax.random.normal(jax.random.PRNGKey(2), (5, 4, 4, 1))
    gp = losses.gradient_penalty(critic, real, fake, jax.random.PRNGKey(3))
    np.testing.assert_allclose(gp, (np.linalg.norm(np.asarray(w)) - 1.0) ** 2, rtol=1e-5)
    np.testing.assert_allclose(losses.r1_penalty(critic, real), np.sum(np.asarray(w) ** 2), rtol=1e-5)


def test_gradient_penalty_uses_interpolates():
    # f(x) = ||x||²/2 has ∇f = x, so the penalty is (||x̂|| - 1)² at x̂ = ε·real + (1-ε)·fake.
    critic = lambda x: 0.5 * jnp.sum(x ** 2, axis=-1)  # noqa: E731
    real, fake = jnp.array([[3.0, 0.0]]), jnp.array([[1.0, 0.0]])
    key = jax.random.PRNGKey(0)
    eps = float(jax.random.uniform(key, (1, 1))[0, 0])
    x_hat = eps * 3.0 + (1 - eps) * 1.0
    np.testing.assert_allclose(losses.gradient_penalty(critic, real, fake, key), (x_hat - 1) ** 2, rtol=1e-5)
