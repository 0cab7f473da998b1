"""Pieces shared by every sampler: timestep spacing, per-sample noise, the on-device step loop."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

SPACINGS = ("leading", "linspace", "trailing")


def timesteps(i, num_steps, num_timesteps: int, spacing: str = "trailing"):
    """Integer timestep of sampler step i ∈ [0, num_steps] (i = num_steps gives −1: clean data).

    i and num_steps may be traced, so a sweep over step counts compiles once. Definitions follow
    "Common Diffusion Noise Schedules and Sample Steps are Flawed" (Lin et al. 2024, table 2):
      linspace: round(linspace(0, T−1, n))[::-1]
      leading:  arange(0, n)·(T // n), reversed
      trailing: round(arange(T, 0, −T/n)) − 1
    """
    T = num_timesteps
    i = jnp.asarray(i, jnp.int32)
    n = jnp.asarray(num_steps, jnp.int32)
    k = (n - 1 - i).astype(jnp.float32)  # position counted from the clean end
    if spacing == "linspace":
        # n = 1 gives t = 0, as the reference does: the flaw Lin et al. point out.
        t = jnp.round(k * (T - 1) / jnp.maximum(n - 1, 1).astype(jnp.float32))
    elif spacing == "leading":
        t = k * (T // n)
    elif spacing == "trailing":
        t = jnp.round(T - i.astype(jnp.float32) * T / n.astype(jnp.float32)) - 1
    else:
        raise ValueError(f"unknown timestep spacing {spacing!r}; expected one of {SPACINGS}")
    return jnp.where(i >= n, -1, t.astype(jnp.int32))


def predict(denoise: Callable, schedule, x, t, clip_x0: bool = False):
    """(x0_hat, eps_hat) of denoise at one timestep t for the whole batch x [B, ...].

    t: a scalar, integer (a table entry; −1 is not allowed) or float (between entries, see
    `DiscreteSchedule.alpha_bar`); its dtype is kept. clip_x0: clip x0_hat to [−1, 1] and recompute
    eps_hat from it, so that the pair stays consistent with x_t.
    """
    t = jnp.asarray(t)
    x0, eps = denoise(x, jnp.full((x.shape[0],), t, t.dtype))
    if clip_x0:
        a = schedule.alpha_bar(t)
        x0 = jnp.clip(x0, -1.0, 1.0)
        eps = (x - jnp.sqrt(a) * x0) / jnp.sqrt(1.0 - a)
    return x0, eps


def per_sample_keys(key, batch: int):
    """A [B, 2] array of keys: one per sample. A single key is split; a [B, 2] batch passes."""
    key = jnp.asarray(key)
    if key.ndim == 2:
        if key.shape[0] != batch:
            raise ValueError(f"got {key.shape[0]} per-sample keys for a batch of {batch}")
        return key
    return jax.random.split(key, batch)


def sample_noise(keys, i, shape, dtype=jnp.float32):
    """Standard normal noise [B, *shape] for step i, each sample from its own key.

    Sample b's noise depends only on keys[b] and i, so a sample is the same whatever the batch
    size, device count or process count it is drawn in.
    """
    return jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, i), shape, dtype))(keys)


def run_steps(body: Callable, carry, num_steps, *, trajectory: Callable | None = None,
              debug: bool = False, start=0):
    """Run carry = body(i, carry) for i in [start, num_steps) on device.

    num_steps may be a traced integer (a `fori_loop`, so changing it does not recompile). With
    `trajectory` (a function carry -> x), num_steps must be a Python int: the loop is a `lax.scan`
    that also returns the stacked trajectory [num_steps, ...]. `debug=True` runs the same body in a
    Python loop (for tests and stepping through with a debugger).
    Returns carry, or (carry, trajectory).
    """
    if debug:
        n = int(num_steps)
        traj = []
        for i in range(int(start), n):
            carry = body(jnp.int32(i), carry)
            if trajectory is not None:
                traj.append(trajectory(carry))
        if trajectory is None:
            return carry
        return carry, jnp.stack(traj)
    if trajectory is None:
        return jax.lax.fori_loop(start, num_steps, body, carry)
    if not isinstance(num_steps, int) or not isinstance(start, int):
        raise TypeError("a trajectory needs static (Python int) num_steps and start")

    def scan_body(c, i):
        c = body(i, c)
        return c, trajectory(c)

    return jax.lax.scan(scan_body, carry, jnp.arange(start, num_steps, dtype=jnp.int32))


def run_steps_then_last(body: Callable, last: Callable, x, num_steps, *, return_trajectory: bool = False,
                        debug: bool = False):
    """x = body(i, x) for i in [0, num_steps − 1), then x = last(num_steps − 1, x).

    For samplers whose final step differs from the others (first order into σ = 0, one network
    call instead of two): cheaper than a lax.cond in every step, which the debug loop would also
    recompile at each step. Returns x, or (x, trajectory [num_steps, ...]) with return_trajectory
    (num_steps must then be a Python int).
    """
    traj = (lambda x: x) if return_trajectory else None
    out = run_steps(body, x, num_steps - 1, trajectory=traj, debug=debug)
    x, traj = out if return_trajectory else (out, None)
    x = last(jnp.asarray(num_steps, jnp.int32) - 1, x)
    return (x, jnp.concatenate([traj, x[None]])) if return_trajectory else x
