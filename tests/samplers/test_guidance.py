"""Classifier guidance is exact for a two-class Gaussian mixture: the unconditional mixture denoiser
guided (s = 1) by the exact posterior p(y | x_t) samples p(x0 | y)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.schedules import make_schedule
from gen_jax.samplers import ddim_sample, ddpm_sample
from gen_jax.samplers.guidance import classifier_guided, classifier_loss

M, S = 1.0, 0.3  # class 0: N(−M, S²), class 1: N(+M, S²), equal weights; images of one pixel


def _class_loglik(schedule, x_t, t):
    a = schedule.alpha_bar(t)[:, None]
    x = x_t.reshape(x_t.shape[0], 1)
    var = a * S**2 + 1 - a
    means = jnp.sqrt(a) * jnp.array([[-M, M]])
    return -0.5 * (x - means) ** 2 / var - 0.5 * jnp.log(var)  # [B, 2]


def mixture_denoiser(schedule):
    def denoise(x_t, t):
        b = x_t.shape[0]
        a = schedule.alpha_bar(t)[:, None]  # [B, 1]
        var = a * S**2 + 1 - a
        post = jax.nn.softmax(_class_loglik(schedule, x_t, t), axis=1)  # p(y | x_t) [B, 2]
        mu = jnp.array([[-M, M]])
        # E[x0 | x_t, y] per class [B, 2], mixed with the posterior
        x0_y = mu + jnp.sqrt(a) * S**2 / var * (x_t.reshape(b, 1) - jnp.sqrt(a) * mu)
        x0 = jnp.sum(post * x0_y, axis=1).reshape(x_t.shape)
        a = a.reshape(b, 1, 1, 1)
        return x0, (x_t - jnp.sqrt(a) * x0) / jnp.sqrt(1 - a)

    return denoise


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_exact_guidance_samples_the_class_conditional(sampler):
    s = make_schedule("linear", 1000)
    log_prob = lambda x, t: jax.nn.log_softmax(_class_loglik(s, x, t), axis=1)
    labels = jnp.ones((2000,), jnp.int32)
    denoise = classifier_guided(mixture_denoiser(s), log_prob, s, labels, 1.0)
    x_T = jax.random.normal(jax.random.PRNGKey(0), (2000, 1, 1, 1))
    key = jax.random.PRNGKey(1)
    if sampler == "ddpm":
        x = jax.jit(lambda x: ddpm_sample(denoise, s, x, key, 250, clip_x0=False))(x_T)
    else:
        x = jax.jit(lambda x: ddim_sample(denoise, s, x, key, 250, 0.0, clip_x0=False))(x_T)
    assert float(jnp.mean(x > 0)) > 0.99  # all from class 1
    assert float(x.mean()) == pytest.approx(M, abs=0.03)
    assert float(x.std()) == pytest.approx(S, abs=0.03)
    # unguided (s = 0): both modes, half each
    free = classifier_guided(mixture_denoiser(s), log_prob, s, labels, 0.0)
    y = jax.jit(lambda x: ddim_sample(free, s, x, key, 250, 0.0, clip_x0=False))(x_T)
    assert float(jnp.mean(y > 0)) == pytest.approx(0.5, abs=0.05)


def test_classifier_loss_is_the_cross_entropy_of_the_true_posterior_classifier():
    s = make_schedule("linear", 100)
    x0 = jnp.where(jnp.arange(512)[:, None, None, None] % 2 == 0, -M, M) + 0.0 * jnp.zeros((512, 1, 1, 1))
    labels = jnp.arange(512) % 2
    exact = lambda p, x, t, r: _class_loglik(s, x, t)
    uniform = lambda p, x, t, r: jnp.zeros((x.shape[0], 2))
    le = float(classifier_loss(exact, None, s, x0, labels, jax.random.PRNGKey(0)))
    lu = float(classifier_loss(uniform, None, s, x0, labels, jax.random.PRNGKey(0)))
    assert lu == pytest.approx(np.log(2), rel=1e-6)
    assert le < 0.8 * lu
