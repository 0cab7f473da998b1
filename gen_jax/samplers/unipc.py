"""UniPC (Zhao et al. 2023): a multistep predictor (UniP) with a corrector (UniC) that reuses the
next step's network call, so it costs no extra evaluation. Order 2, variant B(h) = e^{h} − 1
("bh2"), data prediction, over the timesteps of `timesteps(spacing)`; the coefficients follow the
reference implementation (and diffusers' UniPCMultistepScheduler).

VP notation as in dpm_solver.py: α = √ᾱ, σ = √(1 − ᾱ), λ = log(α/σ), h = λ_{i+1} − λ_i.
"""

from __future__ import annotations

import jax.numpy as jnp

from gen_jax.diffusion.schedules import DiscreteSchedule
from gen_jax.samplers.common import predict, run_steps, timesteps
from gen_jax.samplers.ddpm_ddim import Denoiser
from gen_jax.samplers.dpm_solver import _alpha_sigma_lambda


def unipc_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, *,
                 spacing: str = "trailing", clip_x0: bool = True,
                 return_trajectory: bool = False, debug: bool = False):
    """UniPC-2 (bh2, data prediction) from x_T [B, H, W, C] in num_steps network calls.

    Step i: m_i = x0_hat(x_i, t_i); UniC corrects x_i with m_i, to the order of the previous
    predictor (not at step 0); UniP then predicts x_{i+1} from m_i and m_{i−1} (with the reference's
    ρ = ½ this is DPM-Solver++(2M)); the first and last predictor steps are first order, the last
    giving x0 = m_{N−1}. Deterministic: key is unused. num_steps may be traced.
    """
    del key
    T = schedule.num_timesteps
    t_at = lambda i: timesteps(i, num_steps, T, spacing)
    coeffs = lambda i: _alpha_sigma_lambda(schedule.alpha_bar(t_at(i)))

    def body(i, carry):
        x, x_prev, m_prev, m_prev2 = carry  # x_i (predicted), corrected x_{i−1}, m_{i−1}, m_{i−2}
        m = predict(denoise, schedule, x, t_at(i), clip_x0)[0]
        alpha, sigma, lam = coeffs(i)
        _, sigma_prev, lam_prev = coeffs(jnp.maximum(i - 1, 0))
        lam_prev2 = coeffs(jnp.maximum(i - 2, 0))[2]

        # UniC from x_{i−1} to x_i, of the order the predictor of step i − 1 had
        h = jnp.where(i >= 1, lam - lam_prev, 1.0)  # (the placeholders keep unused branches finite)
        r = jnp.where(i >= 2, (lam_prev2 - lam_prev) / h, -1.0)  # r₁ < 0: the older point
        hphi1 = jnp.expm1(-h)  # h·φ₁(−h) = e^{−h} − 1, which is also B(h) for bh2
        hphik1 = hphi1 / -h - 1.0
        b1 = hphik1 / hphi1
        b2 = 2.0 * (hphik1 / -h - 0.5) / hphi1
        # order 2: solve [[1, 1], [r, 1]]·ρ = [b1, b2]; order 1: ρ = (0, ½) as the reference
        rho0 = jnp.where(i >= 2, (b1 - b2) / (1.0 - r), 0.0)
        rho1 = jnp.where(i >= 2, b1 - rho0, 0.5)
        k0 = rho0 / r  # D1 = (m_{i−2} − m_{i−1})/r
        x_corr = ((sigma / sigma_prev) * x_prev - alpha * hphi1 * m_prev
                  - alpha * hphi1 * (k0 * (m_prev2 - m_prev) + rho1 * (m - m_prev)))
        x = jnp.where(i >= 1, x_corr, x)

        # UniP from x_i to x_{i+1}
        alpha_next, sigma_next, lam_next = coeffs(i + 1)
        h = lam_next - lam
        hphi1 = jnp.expm1(-h)
        second = (i >= 1) & (i < num_steps - 1)
        k = jnp.where(second, 0.5 * h / jnp.where(second, lam_prev - lam, -1.0), 0.0)  # ½/r₁
        x_next = (sigma_next / sigma) * x - alpha_next * hphi1 * (m + k * (m_prev - m))
        return x_next, x, m, m_prev

    z = jnp.zeros_like(x_T)
    traj = (lambda c: c[0]) if return_trajectory else None
    out = run_steps(body, (x_T, z, z, z), num_steps, trajectory=traj, debug=debug)
    return (out[0][0], out[1]) if return_trajectory else out[0]
