"""Generalized diffusion: one continuous-time Gaussian path x_t = α_t·x0 + σ_t·ε, t ∈ [0, 1]
(t = 0 data, t = 1 noise), in which DDPM (linear, cosine), the VP and VE SDEs (Song et al. 2021)
and rectified flow (α = 1 − t, σ = t; Liu et al. 2022) are configurations, with the prediction
targets ε, x0, v, velocity (dx_t/dt) and score, and exact conversions between them.

Every process has a VP-equivalent view (Karras et al. 2022, sec. 4): x_vp = x_t/√(α² + σ²) is a VP
sample with ᾱ = α²/(α² + σ²); `vp_schedule` tabulates ᾱ on a time grid so the discrete samplers of
gen_jax/samplers run on any process unchanged, and `t_of_logsnr` maps any noise level a sampler
asks for back to the process's own t (exactly, so the network sees the level the sampler assumes).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.diffusion.schedules import BETA_SCHEDULES, DiscreteSchedule, make_schedule

PREDICTIONS = ("eps", "x0", "v", "velocity", "score", "edm")
SIGMA_DATA = 0.5  # EDM's σ_data (Karras et al. 2022, table 1)
# The VP view's noisiest entry has ᾱ >= this: samplers take log ᾱ and divide by √ᾱ.
ALPHA_BAR_FLOOR = 1e-5


def _bcast(v, x):
    v = jnp.asarray(v, x.dtype)
    return v.reshape(v.shape + (1,) * (x.ndim - v.ndim))


class Process:
    """Base class. Subclasses give alpha_sigma(t) and its inverse in log-SNR, t_of_logsnr."""

    t_min: float = 0.0  # the least noisy time the network is trained and sampled at
    t_max: float = 1.0  # the noisiest

    def alpha_sigma(self, t):
        raise NotImplementedError

    def t_of_logsnr(self, logsnr):
        """The t with log(α²/σ²) = logsnr (SNR decreases in t), unclipped."""
        raise NotImplementedError

    def coefficients(self, t):
        """(α, σ, dα/dt, dσ/dt) at t (any shape); the derivatives by forward-mode autodiff."""
        t = jnp.asarray(t, jnp.float32)
        (alpha, sigma), (d_alpha, d_sigma) = jax.jvp(self.alpha_sigma, (t,), (jnp.ones_like(t),))
        return alpha, sigma, d_alpha, d_sigma

    def logsnr(self, t):
        alpha, sigma = self.alpha_sigma(jnp.asarray(t, jnp.float32))
        return 2.0 * (jnp.log(alpha) - jnp.log(sigma))

    def train_time(self, u):
        """u ∈ (0, 1) -> t ∈ (t_min, t_max), affinely (the identity for t_min = 0, t_max = 1)."""
        return self.t_min + (self.t_max - self.t_min) * u

    def sample_t_max(self) -> float:
        """The noisiest time samplers start from: t_max, lowered so that ᾱ >= ALPHA_BAR_FLOOR."""
        floor = math.log(ALPHA_BAR_FLOOR) - math.log1p(-ALPHA_BAR_FLOOR)
        with jax.ensure_compile_time_eval():  # a constant, also when called under jit
            return float(min(self.t_max, float(self.t_of_logsnr(jnp.float32(floor)))))

    def vp_schedule(self, num_timesteps: int = 1000) -> DiscreteSchedule:
        """The VP view as a DiscreteSchedule: ᾱ_k = α²/(α² + σ²) at t_k = t_min + (t_end − t_min)·(k+1)/K,
        k = 0..K−1, t_end = sample_t_max(). Built in float64 numpy."""
        t_end = self.sample_t_max()
        t = self.t_min + (t_end - self.t_min) * np.arange(1, num_timesteps + 1) / num_timesteps
        with jax.ensure_compile_time_eval():  # a constant table, also when called under jit
            alpha, sigma = (np.asarray(v, np.float64) for v in self.alpha_sigma(jnp.asarray(t, jnp.float32)))
        alpha_bar = alpha**2 / (alpha**2 + sigma**2)
        betas = 1.0 - alpha_bar / np.concatenate([[1.0], alpha_bar[:-1]])
        return DiscreteSchedule(betas=jnp.asarray(betas, jnp.float32),
                                alphas_bar=jnp.asarray(alpha_bar, jnp.float32))


@dataclasses.dataclass(frozen=True)
class RectifiedFlowPath(Process):
    """α = 1 − t, σ = t (Liu et al. 2022; SD3). velocity = ε − x0."""

    t_min: float = 0.0
    t_max: float = 1.0

    def alpha_sigma(self, t):
        return 1.0 - t, t

    def t_of_logsnr(self, logsnr):
        return jax.nn.sigmoid(-0.5 * logsnr)


@dataclasses.dataclass(frozen=True)
class VPSDE(Process):
    """Song et al. 2021 eq. 32-33: ᾱ(t) = exp(−β_min·t − ½(β_max − β_min)·t²), α = √ᾱ, σ = √(1 − ᾱ).
    β_min = 0.1, β_max = 20 is the continuous limit of DDPM's linear schedule (T = 1000)."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    t_min: float = 1e-3
    t_max: float = 1.0

    def _log_alpha_bar(self, t):
        return -self.beta_min * t - 0.5 * (self.beta_max - self.beta_min) * t**2

    def alpha_sigma(self, t):
        la = self._log_alpha_bar(t)
        return jnp.exp(0.5 * la), jnp.sqrt(-jnp.expm1(la))

    def t_of_logsnr(self, logsnr):
        nla = jax.nn.softplus(-logsnr)  # −log ᾱ = log(1 + e^{−λ})
        d = self.beta_max - self.beta_min
        # the positive root of ½·d·t² + β_min·t − nla = 0, in the form without cancellation
        return 2.0 * nla / (self.beta_min + jnp.sqrt(self.beta_min**2 + 2.0 * d * nla))


@dataclasses.dataclass(frozen=True)
class VESDE(Process):
    """Song et al. 2021 eq. 30-31: α = 1, σ(t) = σ_min·(σ_max/σ_min)^t."""

    sigma_min: float = 0.01
    sigma_max: float = 80.0
    t_min: float = 0.0
    t_max: float = 1.0

    def alpha_sigma(self, t):
        return jnp.ones_like(t), self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def t_of_logsnr(self, logsnr):
        return (-0.5 * logsnr - math.log(self.sigma_min)) / math.log(self.sigma_max / self.sigma_min)


@dataclasses.dataclass(frozen=True)
class EDMPath(Process):
    """Karras et al. 2022 ("EDM"): α = 1, σ from σ_min to σ_max along their ρ-warped grid (eq. 5),
    σ(t) = (σ_min^{1/ρ} + t·(σ_max^{1/ρ} − σ_min^{1/ρ}))^ρ, so that a uniform t grid is EDM's
    sampling grid. Train with time_sampling "log_normal" (ln σ ~ N(P_mean, P_std), sec. 5) and the
    "edm" prediction (its c_skip/c_out/c_in preconditioning, whose plain MSE is EDM's weighted loss)."""

    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0
    t_min: float = 0.0
    t_max: float = 1.0

    def alpha_sigma(self, t):
        lo, hi = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
        return jnp.ones_like(t), (lo + t * (hi - lo)) ** self.rho

    def t_of_logsnr(self, logsnr):
        lo, hi = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
        return (jnp.exp(-0.5 * logsnr / self.rho) - lo) / (hi - lo)


@functools.lru_cache(maxsize=8)
def _table(name: str, num_timesteps: int) -> DiscreteSchedule:
    # cached across calls, so built as concrete arrays even when first asked for inside a jit
    # trace (a traced table would leak into every later trace)
    with jax.ensure_compile_time_eval():
        return make_schedule(name, num_timesteps)


class TableVP(Process):
    """A discrete VP table (a DiscreteSchedule of T entries) in continuous time: t = (k + 1)/T is
    table entry k, and between entries log ᾱ is linear (DiscreteSchedule.alpha_bar on float t).
    Its VP view is the table itself. A network of a discrete run takes the index k = t·T − 1."""

    def __init__(self, table: DiscreteSchedule):
        self._table = table

    @property
    def table(self) -> DiscreteSchedule:
        return self._table

    @property
    def num_timesteps(self) -> int:
        return self.table.num_timesteps

    @property
    def t_min(self):
        return 1.0 / self.num_timesteps

    @property
    def t_max(self):
        return 1.0

    def alpha_sigma(self, t):
        a = self.table.alpha_bar(jnp.asarray(t, jnp.float32) * self.num_timesteps - 1.0)
        return jnp.sqrt(a), jnp.sqrt(1.0 - a)

    def t_of_logsnr(self, logsnr):
        return (self.table.sigma_to_t(jnp.exp(-0.5 * logsnr)) + 1.0) / self.num_timesteps

    def sample_t_max(self) -> float:
        return 1.0

    def vp_schedule(self, num_timesteps: int | None = None) -> DiscreteSchedule:
        if num_timesteps not in (None, self.num_timesteps):
            raise ValueError(f"a DDPM process's VP view is its own table of {self.num_timesteps} "
                             f"steps, not {num_timesteps}")
        return self.table


@dataclasses.dataclass(frozen=True)
class DiscreteVP(TableVP):
    """DDPM's discrete schedule (linear or cosine, T steps) as a TableVP, named by its config."""

    schedule: str = "linear"
    num_timesteps: int = 1000

    def __post_init__(self):
        if self.schedule not in BETA_SCHEDULES:
            raise ValueError(f"unknown beta schedule {self.schedule!r}; expected one of {BETA_SCHEDULES}")

    @property
    def table(self) -> DiscreteSchedule:
        return _table(self.schedule, self.num_timesteps)


# objective.process -> constructor(**objective.process_args)
PROCESSES = {
    "rectified_flow": RectifiedFlowPath,
    "vp_sde": VPSDE,
    "ve_sde": VESDE,
    "ddpm_linear": lambda **kw: DiscreteVP(schedule="linear", **kw),
    "ddpm_cosine": lambda **kw: DiscreteVP(schedule="cosine", **kw),
    "edm": EDMPath,
}


def make_process(name: str, **kw) -> Process:
    if name not in PROCESSES:
        raise ValueError(f"unknown process {name!r}; expected one of {list(PROCESSES)}")
    return PROCESSES[name](**kw)


# --- prediction targets and their conversions ---------------------------------------------------
def from_x0_eps(prediction: str, x0, eps, alpha, sigma, d_alpha, d_sigma):
    """The target of `prediction` for the pair (x0, ε) at coefficients (α, σ, α', σ'), each
    broadcasting against x0:
      eps, x0; v = a·ε − s·x0 with (a, s) = (α, σ)/√(α² + σ²) (Salimans & Ho 2022 on the VP view);
      velocity = dx_t/dt = α'·x0 + σ'·ε (flow matching; RF: ε − x0); score = ∇log p_t(x_t|x0) = −ε/σ;
      edm = F of D = c_skip·x̃ + c_out·F on x̃ = x_t/α, σ̃ = σ/α (Karras et al. 2022, eq. 7, table 1).
    """
    if prediction == "eps":
        return eps
    if prediction == "x0":
        return x0
    if prediction == "v":
        r = jnp.sqrt(alpha**2 + sigma**2)
        return (alpha / r) * eps - (sigma / r) * x0
    if prediction == "velocity":
        return d_alpha * x0 + d_sigma * eps
    if prediction == "score":
        return -eps / sigma
    if prediction == "edm":
        c_skip, c_out, _ = edm_preconditioning(sigma / alpha)
        return (x0 - c_skip * (x0 + (sigma / alpha) * eps)) / c_out
    raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")


def edm_preconditioning(sigma):
    """(c_skip, c_out, c_in) of EDM (Karras et al. 2022, table 1) at noise level σ (of x̃ = x/α)."""
    r = sigma**2 + SIGMA_DATA**2
    return SIGMA_DATA**2 / r, sigma * SIGMA_DATA / jnp.sqrt(r), 1.0 / jnp.sqrt(r)


def input_scale(prediction: str, alpha, sigma):
    """The factor the network's input x_t is multiplied by: c_in/α for "edm", else 1."""
    if prediction == "edm":
        return edm_preconditioning(sigma / alpha)[2] / alpha
    return jnp.ones_like(alpha)


def to_x0_eps(prediction: str, out, x_t, alpha, sigma, d_alpha, d_sigma):
    """(x0, ε) from a prediction `out` of x_t = α·x0 + σ·ε: the exact inverse of from_x0_eps."""
    if prediction == "eps":
        eps = out
        return (x_t - sigma * eps) / alpha, eps
    if prediction == "x0":
        return out, (x_t - alpha * out) / sigma
    if prediction == "v":
        r = jnp.sqrt(alpha**2 + sigma**2)
        a, s, x_vp = alpha / r, sigma / r, x_t / r  # a² + s² = 1
        return a * x_vp - s * out, s * x_vp + a * out
    if prediction == "velocity":
        # solve [α σ; α' σ'] (x0, ε) = (x_t, u); det > 0 when the SNR falls with t
        det = alpha * d_sigma - sigma * d_alpha
        return (d_sigma * x_t - sigma * out) / det, (alpha * out - d_alpha * x_t) / det
    if prediction == "score":
        eps = -sigma * out
        return (x_t - sigma * eps) / alpha, eps
    if prediction == "edm":
        s = sigma / alpha
        c_skip, c_out, _ = edm_preconditioning(s)
        x_tilde = x_t / alpha
        x0 = c_skip * x_tilde + c_out * out
        return x0, (x_tilde - x0) / s
    raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")


def convert(out, x_t, src: str, dst: str, coefficients):
    """A prediction in parametrisation src as parametrisation dst. coefficients: (α, σ, α', σ')."""
    return from_x0_eps(dst, *to_x0_eps(src, out, x_t, *coefficients), *coefficients)


def broadcast_coefficients(process: Process, t, x):
    """process.coefficients(t [B]) reshaped to broadcast against x [B, ...]."""
    return tuple(_bcast(c, x) for c in process.coefficients(t))
