"""Rectified flow (Liu et al. 2022; Lipman et al. 2022): the straight path between data and noise.

Convention (as in SD3, Esser et al. 2024): t = 0 is data, t = 1 is noise,
    x_t = (1 − t)·x0 + t·z,   z ~ N(0, I),
and the network regresses the constant velocity of that path, v = dx_t/dt = z − x0 (eq. 1-2 of
Liu et al.). Sampling integrates dx/dt = v(x, t) from t = 1 down to t = 0.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

TIME_SAMPLINGS = ("uniform", "logit_normal", "log_normal")  # log_normal: EDM's ln σ ~ N (general diffusion)


def _bcast(t, x):
    """t [B] -> [B, 1, ..., 1] to broadcast against x [B, ...]."""
    return jnp.reshape(t, t.shape + (1,) * (x.ndim - t.ndim))


def interpolate(x0, z, t):
    """x_t = (1 − t)·x0 + t·z.  x0, z: [B, ...]; t: [B] in [0, 1]. Returns [B, ...]."""
    t = _bcast(jnp.asarray(t, x0.dtype), x0)
    return (1.0 - t) * x0 + t * z


def target_velocity(x0, z):
    """v = z − x0, the velocity of the straight path (constant in t). [B, ...]."""
    return z - x0


def shift_time(t, shift=1.0):
    """The resolution shift of SD3 (Esser et al. 2024, sec. 5.3.2): t' = s·t / (1 + (s − 1)·t).

    Keeps 0 and 1 fixed and is monotone; s > 1 moves time toward the noise end (more steps / more
    training at high noise, which larger images need). s = 1 is the identity. t: any shape; s may
    be traced.
    """
    t = jnp.asarray(t)
    return shift * t / (1.0 + (shift - 1.0) * t)


def sample_time(key, batch: int, sampling: str = "uniform", mean: float = 0.0, scale: float = 1.0,
                shift: float = 1.0):
    """Training timesteps t [batch] in (0, 1).

    uniform: t ~ U(0, 1). logit_normal: t = sigmoid(mean + scale·n), n ~ N(0, 1) (SD3 eq. 19,
    "lognorm(m, s)"), which weights the middle of the path. The shift is applied after either.
    """
    if sampling == "uniform":
        t = jax.random.uniform(key, (batch,))
    elif sampling == "logit_normal":
        t = jax.nn.sigmoid(mean + scale * jax.random.normal(key, (batch,)))
    else:
        raise ValueError(f"unknown time sampling {sampling!r}; expected one of {TIME_SAMPLINGS}")
    return shift_time(t, shift)


def flow_matching_loss(velocity: Callable, x0, key, *, sampling: str = "uniform", mean: float = 0.0,
                       scale: float = 1.0, shift: float = 1.0, noise=None):
    """Conditional flow-matching loss E_{t, z} ||v(x_t, t) − (z − x0)||², averaged over all
    elements (so its value is per pixel).

    velocity: (x_t [B, ...], t [B] in [0, 1]) -> v_hat [B, ...]. x0: [B, H, W, C] data in [-1, 1].
    noise: the z [B, ...] paired with each x0 (reflow's coupling, Liu et al. 2022 eq. 6); None
    draws it independently. Returns a scalar.
    """
    k_t, k_z = jax.random.split(key)
    t = sample_time(k_t, x0.shape[0], sampling, mean, scale, shift)
    z = jax.random.normal(k_z, x0.shape, x0.dtype) if noise is None else noise
    v_hat = velocity(interpolate(x0, z, t), t)
    return jnp.mean((v_hat - target_velocity(x0, z)) ** 2)
