"""Progressive distillation (Salimans & Ho 2022): a student initialised from the teacher learns to
take in one deterministic step what the teacher takes in two; each round halves the step count,
N -> N/2 -> ... -> N / 2**rounds, and the round's student is the next round's teacher.

Works for any teacher `TeacherODE` describes: DDIM teachers (the paper) and rectified-flow teachers
(two Euler steps -> one). The student is the same network with the same parametrisation, and it
samples with the teacher's own sampler (ddim_sample / euler_sample) at N / 2**rounds steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from gen_jax.diffusion.schedules import _bcast
from gen_jax.distill.teacher import TeacherODE, TeacherState, TeacherShaped
from gen_jax.train.state import create_state, gradient_step


def progressive_target(x_t, x_end, alpha, sigma, alpha_end, sigma_end):
    """x̃ [B, ...]: the x0 estimate for which one DDIM step from t to t'' lands exactly on the
    teacher's two-step result x_end (Salimans & Ho 2022, alg. 2):
        x̃ = (x_t'' − (σ''/σ)·x_t) / (α'' − (σ''/σ)·α).
    alpha, sigma, alpha_end, sigma_end broadcast against x_t; σ > 0 (t is never the clean end)."""
    ratio = sigma_end / sigma
    return (x_end - ratio * x_t) / (alpha_end - ratio * alpha)


def truncated_snr_weight(alpha, sigma):
    """max(SNR, 1) = max(α²/σ², 1): the paper's "truncated SNR" weighting of the x0 error (sec. 4),
    which keeps a weight at zero SNR, where a 1-step student must still predict the data."""
    return jnp.maximum(jnp.square(alpha) / jnp.square(sigma), 1.0)


def two_step_target(teacher: TeacherODE, predict_teacher: Callable, x_t, t, t_mid, t_end):
    """x̃ [B, ...] for x_t at times t [B]: two teacher steps t -> t_mid -> t_end, then the x0 that
    takes one student step t -> t_end to the same point (`progressive_target`)."""
    x_mid = teacher.step(predict_teacher, x_t, t, t_mid)
    x_end = teacher.step(predict_teacher, x_mid, t_mid, t_end)
    alpha, sigma = (_bcast(v, x_t) for v in teacher.alpha_sigma(t))
    alpha_end, sigma_end = (_bcast(v, x_t) for v in teacher.alpha_sigma(t_end))
    return progressive_target(x_t, x_end, alpha, sigma, alpha_end, sigma_end)


def progressive_loss(teacher: TeacherODE, params, teacher_params, x0, key, student_steps,
                     labels=None, teacher_guidance=1.0):
    """E ‖x0_student(x_t) − x̃‖² · max(SNR, 1) at a random student step i ∈ [0, n) per example.

    x0: [B, H, W, C] data; student_steps n (may be traced): the teacher takes 2n steps on the same
    grid, t = time(i, n) = time(2i, 2n), t' = time(2i+1, 2n), t'' = time(i+1, n)."""
    k_i, k_eps = jax.random.split(key)
    batch = x0.shape[0]
    i = jax.random.randint(k_i, (batch,), 0, student_steps)
    t, t_mid, t_end = (teacher.time(i, student_steps), teacher.time(2 * i + 1, 2 * student_steps),
                       teacher.time(i + 1, student_steps))
    alpha, sigma = (_bcast(v, x0) for v in teacher.alpha_sigma(t))
    x_t = alpha * x0 + sigma * jax.random.normal(k_eps, x0.shape, x0.dtype)
    predict_teacher = teacher.predictor(jax.lax.stop_gradient(teacher_params), labels, teacher_guidance)
    x_tilde = jax.lax.stop_gradient(two_step_target(teacher, predict_teacher, x_t, t, t_mid, t_end))
    x0_student, _ = teacher.predictor(params, labels, 1.0, clip=False)(x_t, t)
    err = jnp.mean(jnp.square(x0_student.astype(jnp.float32) - x_tilde), axis=tuple(range(1, x0.ndim)))
    return jnp.mean(truncated_snr_weight(alpha, sigma).reshape(batch) * err)


@dataclasses.dataclass(frozen=True)
class ProgressiveDistillObjective(TeacherShaped):
    """All rounds in one run: round r = step // steps_per_round distils the (2n)-step teacher into
    an n-step student, n = teacher_steps / 2**(r+1). At each round boundary the EMA student becomes
    the frozen teacher (and the new student's starting point). A checkpoint at the end of round r
    holds the n-step student (`student_steps_at`)."""

    teacher: TeacherODE
    teacher_params: Any              # the trained teacher's (EMA) parameters: the initial state
    tx: optax.GradientTransformation
    lr_schedule: Callable
    teacher_steps: int = 8           # N: the teacher's sampler steps in round 0
    rounds: int = 3                  # halvings: the final student takes N / 2**rounds steps
    steps_per_round: int = 1000      # optimiser steps per round
    teacher_guidance: float = 1.0    # CFG scale of the teacher (conditional teachers)
    ema_decay: float = 0.999

    def __post_init__(self):
        if self.rounds < 1 or self.teacher_steps % (2 ** self.rounds):
            raise ValueError(f"objective.teacher_steps ({self.teacher_steps}) must be divisible by "
                             f"2**objective.rounds ({2 ** self.rounds}), rounds >= 1")
        if self.steps_per_round < 1:
            raise ValueError(f"steps_per_round must be >= 1, got {self.steps_per_round}")

    # --- what the loop, main.py and sample.py read -----------------------------------------
    @property
    def student_steps(self) -> int:
        """The final student's step count N / 2**rounds."""
        return self.teacher_steps // 2 ** self.rounds

    def student_steps_at(self, step: int) -> int:
        """Step count of the student held by a checkpoint at optimiser step `step` (> 0)."""
        r = min(max(-(-step // self.steps_per_round), 1), self.rounds)
        return self.teacher_steps // 2 ** r

    @property
    def student_sampler(self) -> str:
        return "rf_euler" if self.teacher.kind == "flow" else "ddim"

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TeacherState:
        del batch_size
        params = jax.tree.map(jnp.asarray, self.teacher_params)
        s = create_state(params, self.tx, key)
        return TeacherState(step=s.step, params=s.params, ema_params=s.ema_params, opt_state=s.opt_state,
                            rng=s.rng, teacher_params=jax.tree.map(jnp.copy, params))

    def _student_steps(self, step):
        r = jnp.minimum(step // self.steps_per_round, self.rounds - 1)
        return jnp.right_shift(jnp.int32(self.teacher_steps), r + 1)

    def step(self, state: TeacherState, batch: dict):
        """One optimiser step; at a round boundary the EMA student first becomes the teacher."""
        new_round = (state.step > 0) & (state.step % self.steps_per_round == 0)
        swap = lambda new, old: jax.tree.map(lambda a, b: jnp.where(new_round, a, b), new, old)  # noqa: E731
        state = state.replace(teacher_params=swap(state.ema_params, state.teacher_params),
                              params=swap(state.ema_params, state.params))
        labels = batch.get("label") if self.num_classes else None
        n = self._student_steps(state.step)

        def loss_fn(params, key):
            return progressive_loss(self.teacher, params, state.teacher_params, batch["image"], key,
                                    n, labels, self.teacher_guidance)

        state, metrics = gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)
        metrics["student_steps"] = n
        return state, metrics

    # --- sampling -------------------------------------------------------------------------
    def sample(self, params, key, num: int | None = None, *, sampler: str | None = None,
               num_steps=None, labels=None, guidance=1.0, debug: bool = False):
        """Images [N, H, W, C] from the teacher's own deterministic sampler (DDIM η = 0 on the
        training grid, or rf_euler) at num_steps (default: the final student's): the student is
        only trained for that sampler."""
        if sampler and sampler != self.student_sampler:  # None / "": the student's
            raise ValueError(f"a progressive student of a {self.teacher.kind} teacher samples with "
                             f"{self.student_sampler!r}, got sampler {sampler!r}")
        n = self.student_steps if num_steps is None else num_steps
        if self.teacher.kind == "flow":
            return self.teacher.base.sample(params, key, num, sampler="rf_euler", num_steps=n,
                                            labels=labels, guidance=guidance, shift=self.teacher.shift,
                                            debug=debug)
        return self.teacher.base.sample(params, key, num, sampler="ddim", num_steps=n, eta=0.0,
                                        labels=labels, guidance=guidance, spacing=self.teacher.spacing,
                                        debug=debug)

    def preview(self, params, key, num: int):
        labels = jnp.arange(num) % self.num_classes if self.num_classes else None
        return self.sample(params, key, num, labels=labels)
