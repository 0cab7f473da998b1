"""DDPM ancestral sampling (Ho et al. 2020) and DDIM(η) (Song et al. 2021) over any step subset."""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp

from gen_jax.diffusion.losses import predict_x0_eps
from gen_jax.diffusion.schedules import DiscreteSchedule, _bcast
from gen_jax.samplers.common import per_sample_keys, predict, run_steps, sample_noise, timesteps

# denoise(x_t [B,H,W,C], t [B]) -> (x0_hat, eps_hat), both like x_t. t is int (a table entry)
# or, for samplers between table entries, float (see DiscreteSchedule.alpha_bar).
Denoiser = Callable


def make_denoiser(model_fn: Callable, schedule: DiscreteSchedule, prediction: str = "eps"):
    """Wrap a network output model_fn(x_t, t) in any parametrisation as a (x0, ε) denoiser."""

    def denoise(x_t, t):
        out = model_fn(x_t, t).astype(x_t.dtype)
        return predict_x0_eps(prediction, out, x_t, _bcast(schedule.alpha_bar(t), x_t))

    return denoise


def ddim_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, eta=0.0, *,
                spacing: str = "trailing", clip_x0: bool = True, return_trajectory: bool = False,
                debug: bool = False):
    """DDIM (Song et al. 2021, eq. 12) from x_T [B, H, W, C] in num_steps network calls.

    x_prev = √ᾱ_prev·x0 + √(1 − ᾱ_prev − σ²)·ε + σ·z,
    σ = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev). η = 0: deterministic; η = 1: DDPM-like.
    num_steps and eta may be traced values. key: one key or per-sample keys [B, 2].
    """
    keys = per_sample_keys(key, x_T.shape[0])

    def body(i, x):
        z = sample_noise(keys, i, x.shape[1:], x.dtype)
        return ddim_step(denoise, schedule, x, i, num_steps, eta, z, spacing, clip_x0)

    traj = (lambda x: x) if return_trajectory else None
    return run_steps(body, x_T, num_steps, trajectory=traj, debug=debug)


def ddim_step(denoise: Denoiser, schedule: DiscreteSchedule, x, i, num_steps, eta, z,
              spacing: str = "trailing", clip_x0: bool = True):
    """DDIM step i of num_steps (from t_i to t_{i+1}) with the noise z given (used when η > 0)."""
    T = schedule.num_timesteps
    t, t_prev = timesteps(i, num_steps, T, spacing), timesteps(i + 1, num_steps, T, spacing)
    a, a_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
    x0, eps = predict(denoise, schedule, x, t, clip_x0)
    # clamp: under jit a/a_prev can round to just above 1, and 0·√(negative) is NaN
    sigma = eta * jnp.sqrt(jnp.maximum((1 - a_prev) / (1 - a) * (1 - a / a_prev), 0.0))
    dir_eps = jnp.sqrt(jnp.maximum(1 - a_prev - sigma**2, 0.0))
    return jnp.sqrt(a_prev) * x0 + dir_eps * eps + sigma * z


def ddpm_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps=None, *,
                spacing: str = "trailing", variance: str = "posterior", clip_x0: bool = True,
                return_trajectory: bool = False, debug: bool = False):
    """Ancestral sampling from the posterior q(x_prev | x_t, x0_hat) (DDPM eqs. 6–7).

    With fewer steps than T, the chain runs on the respaced process whose β'_t = 1 − ᾱ_t/ᾱ_prev
    (improved DDPM, sec. 4). variance: "posterior" (β̃) or "beta" (β', the upper bound).
    num_steps defaults to T (the full chain).
    """
    keys = per_sample_keys(key, x_T.shape[0])
    T = schedule.num_timesteps
    if num_steps is None:
        num_steps = T
    if variance not in ("posterior", "beta"):
        raise ValueError(f"unknown DDPM variance {variance!r}; expected 'posterior' or 'beta'")

    def body(i, x):
        t = timesteps(i, num_steps, T, spacing)
        t_prev = timesteps(i + 1, num_steps, T, spacing)
        a, a_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
        beta = jnp.clip(1 - a / a_prev, 0.0, 1.0)
        x0, _ = predict(denoise, schedule, x, t, clip_x0)
        mean = (jnp.sqrt(a_prev) * beta / (1 - a)) * x0 + (jnp.sqrt(1 - beta) * (1 - a_prev) / (1 - a)) * x
        var = beta * (1 - a_prev) / (1 - a) if variance == "posterior" else jnp.where(t_prev >= 0, beta, 0.0)
        z = sample_noise(keys, i, x.shape[1:], x.dtype)
        return mean + jnp.sqrt(var) * z

    traj = (lambda x: x) if return_trajectory else None
    return run_steps(body, x_T, num_steps, trajectory=traj, debug=debug)
