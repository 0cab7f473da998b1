"""A teacher seen as one deterministic ODE sampler: its time grid, x_t = α_t·x0 + σ_t·ε, an
(x0, ε) predictor, and the first-order step between grid points.

Both teacher kinds (a DiffusionObjective's native_view) are instances. VP ("diffusion"): integer t
on the DDIM grid (`timesteps(i, n, T, spacing)`, t = −1 is clean data), α = √ᾱ_t, σ = √(1 − ᾱ_t), and the
step is DDIM with η = 0 (Song et al. 2021, eq. 12). Rectified flow ("flow"): t on the Euler
grid (`time_grid(i, n, shift)`, t = 0 is data), α = 1 − t, σ = t, x0 = x − t·v, ε = x + (1 − t)·v,
and the same step α'·x0 + σ'·ε is exactly Euler's x + (t' − t)·v. So the progressive and consistency
targets below are written once for both.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.struct
import jax.numpy as jnp

from gen_jax.diffusion.schedules import _bcast
from gen_jax.flow.samplers import time_grid
from gen_jax.samplers.common import timesteps
from gen_jax.train.state import TrainState

KINDS = ("diffusion", "flow")


@flax.struct.dataclass
class TeacherState(TrainState):
    """TrainState plus the frozen teacher's parameters: never optimised (progressive rounds
    replace them with the last round's student)."""

    teacher_params: Any = None


@flax.struct.dataclass
class ConsistencyState(TeacherState):
    """TeacherState plus the consistency target θ⁻, an EMA of the student (Song et al. 2023)."""

    target_params: Any = None


@dataclasses.dataclass(frozen=True)
class TeacherODE:
    """The grid and parametrisation of a teacher objective (a DiffusionObjective: DDPM or flow)."""

    base: Any                    # the teacher's objective: its network, schedule / time scale
    spacing: str = "trailing"    # diffusion: DDIM timestep spacing of the grid
    shift: float = 1.0           # flow: SD3 shift of the Euler grid
    clip_x0: bool = True         # diffusion: clip x0_hat to [−1, 1] as ddim_sample does

    @property
    def kind(self) -> str:
        return "flow" if self.base.native_view == "rf" else "diffusion"

    def time(self, i, n):
        """Time of grid point i ∈ [0, n] of an n-step sampler (i = n: clean data). i may be [B]."""
        if self.kind == "flow":
            return time_grid(i, n, self.shift)
        return timesteps(i, n, self.base.schedule.num_timesteps, self.spacing)

    def alpha_sigma(self, t):
        """(α_t, σ_t) with x_t = α_t·x0 + σ_t·ε; t: scalar or [B]."""
        if self.kind == "flow":
            t = jnp.asarray(t, jnp.float32)
            return 1.0 - t, t
        a = self.base.schedule.alpha_bar(t)
        return jnp.sqrt(a), jnp.sqrt(1.0 - a)

    def predictor(self, params, labels=None, guidance=1.0, clip: bool | None = None) -> Callable:
        """(x_t [B,H,W,C], t [B]) -> (x0_hat, eps_hat) of the network with params (the teacher's or
        a student's: the same network). clip (default clip_x0, diffusion only) clips x0_hat to
        [−1, 1] and recomputes eps_hat from it, as the DDIM sampler does."""
        clip = self.clip_x0 if clip is None else clip
        if self.kind == "flow":
            velocity = self.base.velocity(params, labels, guidance)

            def predict(x_t, t):
                v = velocity(x_t, t)
                tb = _bcast(t, x_t)
                return x_t - tb * v, x_t + (1.0 - tb) * v

            return predict
        denoise = self.base.denoiser(params, labels, guidance)

        def predict(x_t, t):
            x0, eps = denoise(x_t, t)
            if clip:
                alpha, sigma = (_bcast(v, x_t) for v in self.alpha_sigma(t))
                x0 = jnp.clip(x0, -1.0, 1.0)
                eps = (x_t - alpha * x0) / sigma
            return x0, eps

        return predict

    def step(self, predict: Callable, x_t, t, t_next):
        """One deterministic step from t to t_next (both [B]): α'·x0_hat + σ'·eps_hat, i.e. DDIM
        (η = 0) for diffusion and Euler for flow."""
        x0, eps = predict(x_t, t)
        alpha, sigma = (_bcast(v, x_t) for v in self.alpha_sigma(t_next))
        return alpha * x0 + sigma * eps


class TeacherShaped:
    """The image shape and classes of a student objective: those of its teacher's base objective."""

    @property
    def image_shape(self):
        return self.teacher.base.image_shape

    @property
    def num_classes(self):
        return self.teacher.base.num_classes
