import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.losses import diffusion_loss, predict_x0_eps, target
from gen_jax.diffusion.schedules import make_schedule


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_prediction_conversions_are_exact_inverses(prediction):
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    x0 = jax.random.normal(k1, (16, 4, 4, 1))
    eps = jax.random.normal(k2, x0.shape)
    a = jax.random.uniform(k3, (16, 1, 1, 1), minval=0.01, maxval=0.99)
    x_t = jnp.sqrt(a) * x0 + jnp.sqrt(1 - a) * eps
    x0_hat, eps_hat = predict_x0_eps(prediction, target(prediction, x0, eps, a), x_t, a)
    np.testing.assert_allclose(x0_hat, x0, atol=2e-5)
    np.testing.assert_allclose(eps_hat, eps, atol=2e-5)


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_loss_is_zero_for_the_oracle_of_a_one_point_dataset(prediction):
    """Data = one constant image c: the exact denoiser knows x0 = c, so L_simple = 0."""
    s = make_schedule("linear", 100)
    c = 0.3

    def oracle(params, x_t, t, labels, rngs):
        a = s.alpha_bar(t)[:, None, None, None]
        x0 = jnp.full_like(x_t, c)
        eps = (x_t - jnp.sqrt(a) * x0) / jnp.sqrt(1 - a)
        return target(prediction, x0, eps, a)

    loss = diffusion_loss(oracle, None, s, jnp.full((32, 4, 4, 1), c), jax.random.PRNGKey(1), prediction)
    assert float(loss) < 1e-8

    def zero(params, x_t, t, labels, rngs):
        return jnp.zeros_like(x_t)

    loss0 = diffusion_loss(zero, None, s, jnp.full((32, 4, 4, 1), c), jax.random.PRNGKey(1), prediction)
    assert float(loss0) > 0.05


def test_unknown_prediction():
    with pytest.raises(ValueError, match="unknown prediction 'score'"):
        target("score", 0.0, 0.0, 0.5)
