"""σ-space samplers of Karras et al. 2022 ("EDM") on the discrete VP model: Euler, Heun (alg. 1/2)
and Euler-ancestral (k-diffusion's `sample_euler_ancestral`).

The VP sample x_t is seen as x = x_t/√ᾱ at noise level σ = √((1 − ᾱ)/ᾱ), whose probability-flow
ODE is dx/dσ = (x − D(x; σ))/σ (sec. 2, with σ(t) = t). D(x; σ) is the VP denoiser's x0_hat at the
float timestep `schedule.sigma_to_t(σ)`, fed x_t = x/√(1 + σ²). The σ grid is eq. 5 with ρ
between the table's σ_min = σ_0 and σ_max = σ_{T−1}, then σ_N = 0. The trajectory, when asked
for, is of x (σ-space); the result is x0.
"""

from __future__ import annotations

import jax.numpy as jnp

from gen_jax.diffusion.schedules import DiscreteSchedule
from gen_jax.samplers.common import (per_sample_keys, predict, run_steps, run_steps_then_last,
                                     sample_noise)
from gen_jax.samplers.ddpm_ddim import Denoiser


def karras_sigmas(i, num_steps, sigma_min, sigma_max, rho=7.0):
    """σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for i < N; σ_N = 0 (eq. 5).
    i, num_steps and rho may be traced."""
    i = jnp.asarray(i, jnp.float32)
    n = jnp.asarray(num_steps, jnp.float32)
    inv_rho = 1.0 / rho
    frac = i / jnp.maximum(n - 1.0, 1.0)
    sigma = (sigma_max**inv_rho + frac * (sigma_min**inv_rho - sigma_max**inv_rho)) ** rho
    return jnp.where(i >= n, 0.0, sigma)


def _denoise_sigma(denoise, schedule, x, sigma, clip_x0):
    """D(x; σ) from the VP denoiser (float timestep; σ above σ_max is clamped to t = T − 1)."""
    x0, _ = predict(denoise, schedule, x / jnp.sqrt(1.0 + sigma**2), schedule.sigma_to_t(sigma), clip_x0)
    return x0


def _sigma_range(schedule):
    return schedule.sigmas[0], schedule.sigmas[-1]


def _sample(heun, denoise, schedule, x_T, key, num_steps, s_churn, s_tmin, s_tmax, s_noise, rho,
            clip_x0, return_trajectory, debug):
    keys = per_sample_keys(key, x_T.shape[0])
    sigma_min, sigma_max = _sigma_range(schedule)
    sigma_at = lambda i: karras_sigmas(i, num_steps, sigma_min, sigma_max, rho)
    D = lambda x, sigma: _denoise_sigma(denoise, schedule, x, sigma, clip_x0)
    churn = not (isinstance(s_churn, (int, float)) and s_churn == 0)  # literal 0: alg. 1, no noise

    def step(i, x, second_order):
        sigma, sigma_next = sigma_at(i), sigma_at(i + 1)
        sigma_hat, x_hat = sigma, x
        if churn:  # alg. 2: raise the noise level to σ̂ = σ(1 + γ) by adding fresh noise
            in_range = (sigma >= s_tmin) & (sigma <= s_tmax)
            gamma = jnp.where(in_range, jnp.minimum(s_churn / num_steps, jnp.sqrt(2.0) - 1.0), 0.0)
            sigma_hat = sigma * (1.0 + gamma)
            z = sample_noise(keys, i, x.shape[1:], x.dtype)
            x_hat = x + s_noise * jnp.sqrt(jnp.maximum(sigma_hat**2 - sigma**2, 0.0)) * z
        d = (x_hat - D(x_hat, sigma_hat)) / sigma_hat
        x_next = x_hat + (sigma_next - sigma_hat) * d
        if second_order:  # the trapezoidal rule
            d_next = (x_next - D(x_next, sigma_next)) / sigma_next
            x_next = x_hat + (sigma_next - sigma_hat) * 0.5 * (d + d_next)
        return x_next

    x = x_T * jnp.sqrt(1.0 + sigma_at(0) ** 2)  # x_T/√ᾱ_{T−1}
    euler = lambda i, x: step(i, x, False)
    if heun:  # the last step, to σ = 0, is Euler
        return run_steps_then_last(lambda i, x: step(i, x, True), euler, x, num_steps,
                                   return_trajectory=return_trajectory, debug=debug)
    traj = (lambda x: x) if return_trajectory else None
    return run_steps(euler, x, num_steps, trajectory=traj, debug=debug)


def euler_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, *,
                 s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, rho=7.0,
                 clip_x0: bool = True, return_trajectory: bool = False, debug: bool = False):
    """Euler steps of the PF-ODE on the Karras σ grid (Karras et al. 2022, alg. 2 without the
    correction), from x_T [B, H, W, C] (at t = T − 1) in num_steps network calls.

    s_churn > 0 adds noise before each step with σ in [s_tmin, s_tmax] (γ = min(s_churn/N, √2 − 1));
    s_churn = 0 is deterministic (given as a Python 0, no noise is drawn). num_steps and the s_* and
    rho values may be traced.
    """
    return _sample(False, denoise, schedule, x_T, key, num_steps, s_churn, s_tmin, s_tmax, s_noise,
                   rho, clip_x0, return_trajectory, debug)


def heun_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, *,
                s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, rho=7.0,
                clip_x0: bool = True, return_trajectory: bool = False, debug: bool = False):
    """Heun's second-order method on the Karras σ grid (Karras et al. 2022, alg. 1; alg. 2 with
    s_churn > 0), from x_T [B, H, W, C] (at t = T − 1). num_steps steps cost 2·num_steps − 1
    network calls (the last step, to σ = 0, is Euler). num_steps, s_* and rho may be traced.
    """
    return _sample(True, denoise, schedule, x_T, key, num_steps, s_churn, s_tmin, s_tmax, s_noise,
                   rho, clip_x0, return_trajectory, debug)


def euler_ancestral_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, *,
                           eta=1.0, rho=7.0, clip_x0: bool = True, return_trajectory: bool = False,
                           debug: bool = False):
    """Ancestral Euler on the Karras σ grid (k-diffusion's sample_euler_ancestral) from x_T
    [B, H, W, C] in num_steps network calls.

    Each step goes deterministically down to σ_down, then adds noise σ_up, with
    σ_up = min(σ', η·√(σ'²(σ² − σ'²)/σ²)), σ_down = √(σ'² − σ_up²). η = 1 is the ancestral
    (DDPM-like) step, η = 0 plain Euler. num_steps, eta and rho may be traced.
    """
    keys = per_sample_keys(key, x_T.shape[0])
    sigma_min, sigma_max = _sigma_range(schedule)
    sigma_at = lambda i: karras_sigmas(i, num_steps, sigma_min, sigma_max, rho)

    def body(i, x):
        sigma, sigma_next = sigma_at(i), sigma_at(i + 1)
        sigma_up = jnp.minimum(sigma_next, eta * jnp.sqrt(
            jnp.maximum(sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2, 0.0)))
        sigma_down = jnp.sqrt(jnp.maximum(sigma_next**2 - sigma_up**2, 0.0))
        d = (x - _denoise_sigma(denoise, schedule, x, sigma, clip_x0)) / sigma
        z = sample_noise(keys, i, x.shape[1:], x.dtype)
        return x + (sigma_down - sigma) * d + sigma_up * z

    x = x_T * jnp.sqrt(1.0 + sigma_at(0) ** 2)
    traj = (lambda x: x) if return_trajectory else None
    return run_steps(body, x, num_steps, trajectory=traj, debug=debug)
