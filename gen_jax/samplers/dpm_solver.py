"""DPM-Solver-2 (Lu et al. 2022a) and DPM-Solver++(2M) (Lu et al. 2022b): exponential integrators
of the probability-flow ODE in λ = log(α/σ), over the timesteps of `timesteps(spacing)`.

VP notation: α = √ᾱ, σ = √(1 − ᾱ), λ = log α − log σ (λ = +∞ at t = −1, clean data).
The final step to t = −1 has h = ∞, so it is always first order (x = x0_hat), as the references'
`lower_order_final`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen_jax.diffusion.schedules import DiscreteSchedule
from gen_jax.samplers.common import predict, run_steps, run_steps_then_last, timesteps
from gen_jax.samplers.ddpm_ddim import Denoiser


def _alpha_sigma_lambda(alpha_bar):
    alpha, sigma = jnp.sqrt(alpha_bar), jnp.sqrt(1.0 - alpha_bar)
    return alpha, sigma, jnp.log(alpha) - jnp.log(sigma)


def dpm_solver_pp_2m_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, *,
                            spacing: str = "trailing", clip_x0: bool = True,
                            return_trajectory: bool = False, debug: bool = False):
    """DPM-Solver++(2M) (Lu et al. 2022b, alg. 2) from x_T [B, H, W, C] in num_steps network calls.

    Data prediction, multistep: step i from t_i to t_{i+1} with h = λ_{i+1} − λ_i, r = h_{i−1}/h,
      D = (1 + 1/(2r))·x0_i − 1/(2r)·x0_{i−1},   x_{i+1} = (σ_{i+1}/σ_i)·x_i − α_{i+1}·(e^{−h} − 1)·D.
    The first step (no history) and the last (h = ∞) use D = x0_i: DDIM. Deterministic: key is
    unused (kept for the common signature). num_steps may be traced.
    """
    del key
    T = schedule.num_timesteps

    def body(i, carry):
        x, x0_prev = carry
        t = timesteps(i, num_steps, T, spacing)
        _, sigma, lam = _alpha_sigma_lambda(schedule.alpha_bar(t))
        alpha_next, sigma_next, lam_next = _alpha_sigma_lambda(
            schedule.alpha_bar(timesteps(i + 1, num_steps, T, spacing)))
        lam_prev = _alpha_sigma_lambda(
            schedule.alpha_bar(timesteps(jnp.maximum(i - 1, 0), num_steps, T, spacing)))[2]
        x0, _ = predict(denoise, schedule, x, t, clip_x0)
        h, h_prev = lam_next - lam, lam - lam_prev
        second = (i > 0) & (i < num_steps - 1)
        c = jnp.where(second, 0.5 * h / h_prev, 0.0)  # 1/(2r); where() drops the inf of i = 0
        d = x0 + c * (x0 - x0_prev)
        x = (sigma_next / sigma) * x - (alpha_next * jnp.expm1(-h)) * d
        return x, x0

    traj = (lambda c: c[0]) if return_trajectory else None
    out = run_steps(body, (x_T, jnp.zeros_like(x_T)), num_steps, trajectory=traj, debug=debug)
    return (out[0][0], out[1]) if return_trajectory else out[0]


def dpm_solver_2_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, *,
                        spacing: str = "trailing", clip_x0: bool = True,
                        return_trajectory: bool = False, debug: bool = False):
    """DPM-Solver-2 (Lu et al. 2022a, alg. 1, r₁ = ½): singlestep, second order, noise prediction.

    Step i from s = t_i to t = t_{i+1}, h = λ_t − λ_s, s₁ the (float) timestep with λ = λ_s + h/2:
      u = (α_{s₁}/α_s)·x − σ_{s₁}·(e^{h/2} − 1)·ε(x, s),   x_t = (α_t/α_s)·x − σ_t·(e^h − 1)·ε(u, s₁).
    The last step (to t = −1) is first order (DDIM). num_steps steps cost 2·num_steps − 1 network
    calls. Deterministic: key is unused. num_steps may be traced.
    """
    del key
    T = schedule.num_timesteps

    def second_order(x, t, t_next):
        a, a_next = schedule.alpha_bar(t), schedule.alpha_bar(t_next)
        alpha, _, lam = _alpha_sigma_lambda(a)
        alpha_next, sigma_next, lam_next = _alpha_sigma_lambda(a_next)
        h = lam_next - lam
        lam_mid = lam + 0.5 * h
        # σ of x/α at λ is e^{−λ}, which sigma_to_t maps to a timestep between table entries. α, σ
        # come from λ itself: from the float t they are off by ~1e-5, which the cancellation in
        # (α_{s₁}/α_s)·x − σ_{s₁}(e^{h/2} − 1)·ε amplifies by α_{s₁}/α_s (up to ~1e3).
        t_mid = schedule.sigma_to_t(jnp.exp(-lam_mid))
        alpha_mid, sigma_mid = jnp.sqrt(jax.nn.sigmoid(2 * lam_mid)), jnp.sqrt(jax.nn.sigmoid(-2 * lam_mid))
        _, eps = predict(denoise, schedule, x, t, clip_x0)
        u = (alpha_mid / alpha) * x - (sigma_mid * jnp.expm1(0.5 * h)) * eps
        _, eps_mid = predict(denoise, schedule, u, t_mid, clip_x0)
        return (alpha_next / alpha) * x - (sigma_next * jnp.expm1(h)) * eps_mid

    t_at = lambda i: timesteps(i, num_steps, T, spacing)
    body = lambda i, x: second_order(x, t_at(i), t_at(i + 1))
    last = lambda i, x: predict(denoise, schedule, x, t_at(i), clip_x0)[0]  # DDIM to t = −1
    return run_steps_then_last(body, last, x_T, num_steps, return_trajectory=return_trajectory,
                               debug=debug)
