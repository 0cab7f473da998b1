"""Consistency distillation (Song et al. 2023, alg. 2) and multistep consistency sampling (alg. 1).

A consistency model f(x_t, t) maps any point of the teacher's ODE trajectory to its clean end. With
the skip/out parametrisation (Song et al. 2023, eq. 7 and app. C, in the EDM form of Karras et al.
2022 with the noise level σ = σ_t/α_t of x_t/α_t):
    f(x_t, t) = c_skip(t)·x_t/α_t + c_out(t)·x0_θ(x_t, t),
    c_skip = σ_data²/(σ² + σ_data²),  c_out = σ²/(σ² + σ_data²),
where x0_θ is the network's own x0 estimate (so f starts as the teacher's denoiser when θ is the
teacher's) and f(x, t_clean) = x exactly (σ = 0). It is trained against an EMA target θ⁻ on
adjacent grid points: ‖f_θ(x_{t_n}, t_n) − f_θ⁻(x̂_{t_{n+1}}, t_{n+1})‖², x̂ one teacher step.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from gen_jax.diffusion.schedules import _bcast
from gen_jax.distill.teacher import ConsistencyState, TeacherODE, TeacherShaped
from gen_jax.samplers.common import per_sample_keys, run_steps, sample_noise
from gen_jax.train.state import create_state, gradient_step

LOSSES = ("l2", "pseudo_huber")


def skip_out(alpha, sigma, sigma_data=0.5):
    """(k_skip, c_out) with f = k_skip·x_t + c_out·x0_hat; k_skip = c_skip/α written so that it is
    finite at α = 0 (flow t = 1) and exactly 1 (with c_out exactly 0) at σ = 0, α = 1."""
    den = jnp.square(sigma) + sigma_data**2 * jnp.square(alpha)
    return sigma_data**2 * alpha / den, jnp.square(sigma) / den


def consistency_fn(teacher: TeacherODE, params, labels=None, sigma_data=0.5, guidance=1.0) -> Callable:
    """f(x_t [B,H,W,C], t [B]) -> x0 [B,H,W,C] of the network with params (with labels:
    classifier-free guidance w mixes the x0 estimates; w = 1 is the conditional model)."""
    predict = teacher.predictor(params, labels, guidance, clip=False)

    def f(x_t, t):
        x0, _ = predict(x_t, t)
        k_skip, c_out = (_bcast(v, x_t) for v in skip_out(*teacher.alpha_sigma(t), sigma_data))
        # at the clean end the network is not used at all (0·inf would be NaN there)
        return k_skip * x_t + jnp.where(c_out > 0, c_out * x0, 0.0)

    return f


def distance(a, b, loss: str = "l2"):
    """Per-example distance [B]: mean squared error, or the pseudo-Huber √(‖a−b‖²/d + c²) − c with
    c = 0.00054 (Song & Dhariwal 2023, sec. 3.3, here on the per-pixel mean)."""
    sq = jnp.mean(jnp.square(a - b), axis=tuple(range(1, a.ndim)))
    if loss == "l2":
        return sq
    if loss == "pseudo_huber":
        c = 0.00054
        return jnp.sqrt(sq + c**2) - c
    raise ValueError(f"unknown consistency loss {loss!r}; expected one of {LOSSES}")


def consistency_loss(teacher: TeacherODE, params, target_params, teacher_params, x0, key,
                     num_scales, labels=None, sigma_data=0.5, loss="l2", teacher_guidance=1.0):
    """E_n d(f_θ(x_{t_n}, t_n), f_θ⁻(x̂_{t_{n+1}}, t_{n+1})), n ~ U{0..N−1} per example, on the
    teacher's N-step grid (t_N: the clean end, where f_θ⁻ is the identity); x̂ is one teacher step."""
    k_n, k_eps = jax.random.split(key)
    n = jax.random.randint(k_n, (x0.shape[0],), 0, num_scales)
    t, t_next = teacher.time(n, num_scales), teacher.time(n + 1, num_scales)
    alpha, sigma = (_bcast(v, x0) for v in teacher.alpha_sigma(t))
    x_t = alpha * x0 + sigma * jax.random.normal(k_eps, x0.shape, x0.dtype)
    predict_teacher = teacher.predictor(jax.lax.stop_gradient(teacher_params), labels, teacher_guidance)
    x_next = teacher.step(predict_teacher, x_t, t, t_next)
    target = jax.lax.stop_gradient(
        consistency_fn(teacher, jax.lax.stop_gradient(target_params), labels, sigma_data)(x_next, t_next))
    pred = consistency_fn(teacher, params, labels, sigma_data)(x_t, t)
    return jnp.mean(distance(pred.astype(jnp.float32), target, loss))


def consistency_sample(f: Callable, teacher: TeacherODE, x_T, key, num_steps, *, clip: bool = True,
                       debug: bool = False):
    """Multistep consistency sampling (Song et al. 2023, alg. 1) in num_steps network calls:
    x = f(x_T, τ_0), then for i = 1..n−1: x = f(α_τ·x + σ_τ·z, τ_i), τ_i = time(i, n) on the
    teacher's grid (τ_0: the noise end). x_T [B, H, W, C]; key: one key or per-sample keys [B, 2];
    num_steps may be traced; debug runs the loop in Python."""
    keys = per_sample_keys(key, x_T.shape[0])

    def f_at(x, i):
        t = jnp.full((x.shape[0],), teacher.time(i, num_steps))
        x0 = f(x, t)
        return jnp.clip(x0, -1.0, 1.0) if clip else x0

    def body(i, x):
        alpha, sigma = teacher.alpha_sigma(teacher.time(i, num_steps))
        z = sample_noise(keys, i, x.shape[1:], x.dtype)
        return f_at(alpha * x + sigma * z, i)

    return run_steps(body, f_at(x_T, 0), num_steps, debug=debug, start=1)


@dataclasses.dataclass(frozen=True)
class ConsistencyDistillObjective(TeacherShaped):
    """Consistency distillation of a teacher: the student (initialised from the teacher) and its
    target θ⁻ = EMA_μ(θ) (Song et al. 2023 alg. 2); samples with `consistency_sample`."""

    teacher: TeacherODE
    teacher_params: Any              # the trained teacher's (EMA) parameters: the initial state
    tx: optax.GradientTransformation
    lr_schedule: Callable
    num_scales: int = 18             # N: grid points of the teacher ODE (adjacent pairs)
    sigma_data: float = 0.5          # σ_data of the skip/out parametrisation
    target_ema: float = 0.95         # μ: θ⁻ <- μ·θ⁻ + (1 − μ)·θ
    loss: str = "l2"                 # l2 | pseudo_huber
    teacher_guidance: float = 1.0    # CFG scale of the teacher (conditional teachers)
    ema_decay: float = 0.999         # EMA of θ used for sampling
    sample_steps: int = 1            # default network calls of sample()

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"objective.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.num_scales < 1:
            raise ValueError(f"objective.num_scales must be >= 1, got {self.num_scales}")
        if not 0.0 <= self.target_ema < 1.0:
            raise ValueError(f"objective.target_ema must be in [0, 1), got {self.target_ema}")

    @property
    def student_steps(self) -> int:
        return self.sample_steps

    def student_steps_at(self, step: int) -> int:
        del step
        return self.sample_steps

    student_sampler = "consistency"

    def init(self, key, batch_size: int = 2) -> ConsistencyState:
        del batch_size
        params = jax.tree.map(jnp.asarray, self.teacher_params)
        s = create_state(params, self.tx, key)
        return ConsistencyState(step=s.step, params=s.params, ema_params=s.ema_params,
                                opt_state=s.opt_state, rng=s.rng,
                                teacher_params=jax.tree.map(jnp.copy, params),
                                target_params=jax.tree.map(jnp.copy, params))

    def step(self, state: ConsistencyState, batch: dict):
        labels = batch.get("label") if self.num_classes else None

        def loss_fn(params, key):
            return consistency_loss(self.teacher, params, state.target_params, state.teacher_params,
                                    batch["image"], key, self.num_scales, labels, self.sigma_data,
                                    self.loss, self.teacher_guidance)

        state, metrics = gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)
        mu = self.target_ema
        target = jax.tree.map(lambda t, p: mu * t + (1.0 - mu) * p, state.target_params, state.params)
        return state.replace(target_params=target), metrics

    def sample(self, params, key, num: int | None = None, *, sampler: str | None = None,
               num_steps=None, labels=None, guidance=1.0, debug: bool = False):
        """Images [N, H, W, C] in [-1, 1] by multistep consistency sampling in num_steps calls
        (default sample_steps). key: one key (with num) or per-sample keys [N, 2]. With labels,
        classifier-free guidance w mixes the x0 estimates (w = 1: conditional)."""
        if sampler and sampler != "consistency":  # None / "": the same
            raise ValueError(f"a consistency student samples with 'consistency', got {sampler!r}")
        keys = per_sample_keys(key, num) if jnp.ndim(key) == 1 else key
        x_T = jax.vmap(lambda k: jax.random.normal(k, self.image_shape))(keys)
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
        f = consistency_fn(self.teacher, params, labels, self.sigma_data, guidance)
        n = self.sample_steps if num_steps is None else num_steps
        return consistency_sample(f, self.teacher, x_T, step_keys, n, debug=debug)

    def preview(self, params, key, num: int):
        labels = jnp.arange(num) % self.num_classes if self.num_classes else None
        return self.sample(params, key, num, labels=labels)
