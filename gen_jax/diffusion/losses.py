"""Prediction targets (ε, x0, v) and the simple MSE diffusion loss.

v-prediction: v = √ᾱ·ε − √(1−ᾱ)·x0 (Salimans & Ho 2022, sec. 4).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen_jax.diffusion.schedules import DiscreteSchedule, _bcast, q_sample

PREDICTIONS = ("eps", "x0", "v")


def target(prediction: str, x0, eps, alpha_bar):
    """The regression target for a parametrisation; alpha_bar broadcasts against x0."""
    if prediction == "eps":
        return eps
    if prediction == "x0":
        return x0
    if prediction == "v":
        return jnp.sqrt(alpha_bar) * eps - jnp.sqrt(1.0 - alpha_bar) * x0
    raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")


def predict_x0_eps(prediction: str, out, x_t, alpha_bar):
    """Convert a network output to (x0_hat, eps_hat) at noise level ᾱ (exact inverses)."""
    a, s = jnp.sqrt(alpha_bar), jnp.sqrt(1.0 - alpha_bar)
    if prediction == "eps":
        eps = out
        x0 = (x_t - s * eps) / a
    elif prediction == "x0":
        x0 = out
        eps = (x_t - a * x0) / s
    elif prediction == "v":
        x0 = a * x_t - s * out
        eps = s * x_t + a * out
    else:
        raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")
    return x0, eps


def diffusion_loss(apply_fn, params, schedule: DiscreteSchedule, x0, key, prediction="eps",
                   labels=None, rngs=None):
    """E_{t, ε} ‖f(x_t, t) − target‖² averaged over pixels and batch (DDPM's L_simple).

    apply_fn(params, x_t, t, labels, rngs) -> output like x_t. x0: [B, H, W, C]; t ~ U{0..T−1}.
    """
    key_t, key_eps = jax.random.split(key)
    batch = x0.shape[0]
    t = jax.random.randint(key_t, (batch,), 0, schedule.num_timesteps)
    eps = jax.random.normal(key_eps, x0.shape, x0.dtype)
    x_t = q_sample(schedule, x0, t, eps)
    out = apply_fn(params, x_t, t, labels, rngs)
    tgt = target(prediction, x0, eps, _bcast(schedule.alpha_bar(t), x0))
    return jnp.mean(jnp.square(out.astype(jnp.float32) - tgt))
