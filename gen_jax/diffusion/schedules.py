"""Discrete-time VP noise schedules (Ho et al. 2020; Nichol & Dhariwal 2021).

Notation: β_t, α_t = 1 − β_t, ᾱ_t = ∏_{s≤t} α_s, timesteps t ∈ {0, …, T−1}.
x_t = √ᾱ_t · x0 + √(1−ᾱ_t) · ε   (DDPM eq. 4).
"""

from __future__ import annotations

import math

import flax.struct
import jax.numpy as jnp
import numpy as np

BETA_SCHEDULES = ("linear", "cosine")


def beta_schedule(name: str, num_timesteps: int, beta_start: float = 1e-4,
                  beta_end: float = 0.02, cosine_s: float = 0.008) -> np.ndarray:
    """β_1..β_T as float64 numpy [T].

    linear: DDPM's linspace(β_start, β_end) (values given for T=1000, rescaled by 1000/T so that
    the total noise is the same for other T). cosine: improved DDPM eq. 17. Both clipped at 0.999
    so that ᾱ_T > 0 (the x0 conversion divides by √ᾱ).
    """
    if num_timesteps < 1:
        raise ValueError(f"num_timesteps must be >= 1, got {num_timesteps}")
    if name == "linear":
        scale = 1000.0 / num_timesteps
        betas = np.linspace(scale * beta_start, scale * beta_end, num_timesteps, dtype=np.float64)
        return np.clip(betas, 0.0, 0.999)
    if name == "cosine":
        steps = np.arange(num_timesteps + 1, dtype=np.float64) / num_timesteps
        f = np.cos((steps + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
        alpha_bar = f / f[0]
        return np.clip(1.0 - alpha_bar[1:] / alpha_bar[:-1], 0.0, 0.999)
    raise ValueError(f"unknown beta schedule {name!r}; expected one of {BETA_SCHEDULES}")


@flax.struct.dataclass
class DiscreteSchedule:
    """Precomputed per-timestep tables, all float32 [T]. A pytree, so it can enter jit."""

    betas: jnp.ndarray
    alphas_bar: jnp.ndarray

    @property
    def num_timesteps(self) -> int:
        return self.betas.shape[0]

    @property
    def sigmas(self):
        """σ_t = √((1 − ᾱ_t)/ᾱ_t) [T]: the noise level of x_t/√ᾱ_t (Karras et al. 2022, sec. 2)."""
        return jnp.sqrt((1.0 - self.alphas_bar) / self.alphas_bar)

    def alpha_bar(self, t):
        """ᾱ_t; t = −1 gives ᾱ = 1 (no noise), used by the last sampler step.

        Integer t reads the table. Float t (for samplers that need noise levels between table
        entries) interpolates log ᾱ linearly between neighbours, with ᾱ_{−1} = 1; a float t that
        is a whole number returns the table value exactly. t is clipped to [−1, T − 1].
        """
        t = jnp.asarray(t)
        if jnp.issubdtype(t.dtype, jnp.integer):
            return jnp.where(t >= 0, self.alphas_bar[jnp.clip(t, 0)], 1.0)
        T = self.num_timesteps
        a = jnp.concatenate([jnp.ones((1,), self.alphas_bar.dtype), self.alphas_bar])  # a[j] = ᾱ_{j−1}
        j = jnp.clip(t.astype(jnp.float32) + 1.0, 0.0, float(T))
        lo = jnp.floor(j).astype(jnp.int32)
        hi = jnp.minimum(lo + 1, T)
        # ᾱ_lo·(ᾱ_hi/ᾱ_lo)^w rather than exp(interpolated log): exact at w = 0
        return a[lo] * jnp.exp((j - lo) * (jnp.log(a[hi]) - jnp.log(a[lo])))

    def sigma_to_t(self, sigma):
        """The float timestep whose ᾱ (as `alpha_bar` interpolates it) is 1/(1 + σ²).

        The exact inverse of `alpha_bar` on float t, so alpha_bar(sigma_to_t(σ)) = 1/(1 + σ²) up
        to rounding; σ = 0 gives t = −1, and σ beyond the table is clipped to t ∈ [−1, T − 1].
        """
        T = self.num_timesteps
        nlog_a = jnp.concatenate([jnp.zeros((1,), jnp.float32), -jnp.log(self.alphas_bar)])  # increasing
        v = jnp.log1p(jnp.square(jnp.asarray(sigma, jnp.float32)))  # −log ᾱ at σ
        lo = jnp.clip(jnp.searchsorted(nlog_a, v, side="right") - 1, 0, T - 1)
        w = (v - nlog_a[lo]) / (nlog_a[lo + 1] - nlog_a[lo])
        return jnp.clip(lo - 1.0 + w, -1.0, T - 1.0)


def make_schedule(name: str = "linear", num_timesteps: int = 1000, **kw) -> DiscreteSchedule:
    betas = beta_schedule(name, num_timesteps, **kw)
    alphas_bar = np.cumprod(1.0 - betas)
    return DiscreteSchedule(betas=jnp.asarray(betas, jnp.float32),
                            alphas_bar=jnp.asarray(alphas_bar, jnp.float32))


def _bcast(v, x):
    """Reshape per-example [B] values to broadcast against x [B, ...]."""
    v = jnp.asarray(v, x.dtype)
    return v.reshape(v.shape + (1,) * (x.ndim - v.ndim))


def forward_step(x_prev, beta, eps):
    """One step of the forward chain: x_t = √(1−β_t)·x_{t−1} + √β_t·ε  (DDPM eq. 2)."""
    return jnp.sqrt(1.0 - beta) * x_prev + jnp.sqrt(beta) * eps


def q_sample(schedule: DiscreteSchedule, x0, t, eps):
    """Sample q(x_t | x0) in closed form. x0, eps: [B, ...]; t: int [B]."""
    a = _bcast(schedule.alpha_bar(t), x0)
    return jnp.sqrt(a) * x0 + jnp.sqrt(1.0 - a) * eps
