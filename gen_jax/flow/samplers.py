"""ODE samplers for a velocity field: integrate dx/dt = v(x, t) from t = 1 (noise) to t = 0 (data).

velocity: (x_t [B, ...], t [B] float in [0, 1]) -> v [B, ...]. The time grid is
t_i = shift_time(1 − i/N), i = 0..N (uniform, or bent toward the noise end by the SD3 shift).
num_steps and shift may be traced: a sweep over step counts compiles once.
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp

from gen_jax.flow.rectified_flow import shift_time
from gen_jax.samplers.common import run_steps

Velocity = Callable  # (x_t [B, ...], t [B]) -> v [B, ...]


def time_grid(i, num_steps, shift=1.0):
    """t_i = shift_time(1 − i/N): t_0 = 1, t_N = 0. i and num_steps may be traced."""
    i = jnp.asarray(i, jnp.float32)
    n = jnp.asarray(num_steps, jnp.float32)
    return shift_time(jnp.clip(1.0 - i / n, 0.0, 1.0), shift)


def _v(velocity, x, t):
    return velocity(x, jnp.full((x.shape[0],), t, jnp.float32))


def _run(step, x1, num_steps, shift, return_trajectory, debug):
    def body(i, x):
        return step(x, time_grid(i, num_steps, shift), time_grid(i + 1, num_steps, shift))

    traj = (lambda x: x) if return_trajectory else None
    return run_steps(body, x1, num_steps, trajectory=traj, debug=debug)


def euler_sample(velocity: Velocity, x1, num_steps, *, shift=1.0, return_trajectory: bool = False,
                 debug: bool = False):
    """Euler: x_{t'} = x_t + (t' − t)·v(x_t, t). x1: [B, ...] noise at t = 1. N network calls.

    Returns x0 [B, ...], or (x0, trajectory [N, B, ...]) with return_trajectory (num_steps must
    then be a Python int); debug runs the same step in a Python loop.
    """

    def step(x, t, t_next):
        return x + (t_next - t) * _v(velocity, x, t)

    return _run(step, x1, num_steps, shift, return_trajectory, debug)


def heun_sample(velocity: Velocity, x1, num_steps, *, shift=1.0, return_trajectory: bool = False,
                debug: bool = False):
    """Heun (explicit trapezoidal rule, Karras et al. 2022 alg. 1): an Euler predictor, then the
    average of the velocities at both ends. The RF velocity is finite at t = 0, so every step,
    the last included, is second order: 2N network calls. Arguments as `euler_sample`.
    """

    def step(x, t, t_next):
        d = _v(velocity, x, t)
        x_pred = x + (t_next - t) * d
        return x + (t_next - t) * 0.5 * (d + _v(velocity, x_pred, t_next))

    return _run(step, x1, num_steps, shift, return_trajectory, debug)
