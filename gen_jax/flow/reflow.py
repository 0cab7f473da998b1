"""Reflow (Liu et al. 2022, sec. 2.3): couple noise and data through a trained flow's ODE, and the
straightness that reflow reduces.

Convention as in rectified_flow.py: t = 1 is noise z, t = 0 data; the ODE runs from 1 to 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.flow.samplers import time_grid
from gen_jax.samplers import registry
from gen_jax.samplers.views import Views
from gen_jax.samplers.common import run_steps


def reflow_pairs(velocity, z, num_steps, *, sampler: str = "rf_heun", shift=1.0):
    """(z, x0 = ODE(z)): the deterministic coupling of a trained flow (Liu et al. eq. 6), whose
    straight-path training gives the next (straighter) flow. z: [B, ...] noise; velocity as in
    samplers.py. Returns (z, x0), both [B, ...]."""
    return z, registry.run(sampler, Views(velocity=velocity), z, None, num_steps, shift=shift)


def objective_pairs(objective, params, key, num: int | None = None, **sample_kw):
    """reflow_pairs of a FlowObjective: (z [N,H,W,C], x0 = objective.sample(...) [N,H,W,C]) with
    the sampler's own per-sample noise, so pair b depends only on its key (and label)."""
    return objective.noise(key, num), objective.sample(params, key, num, **sample_kw)


def straightness(velocity, z, num_steps: int, *, shift=1.0, debug: bool = False):
    """S = ∫_0^1 ||v(x_t, t) − (z − x0)||² dt along the Euler trajectory from z to its endpoint x0
    (Liu et al. 2022, def. 2.3, per sample; ||·||² is the mean over elements). 0 exactly when each
    trajectory is a straight line traversed at constant speed.

    z: [B, ...] noise at t = 1. The integral is the left Riemann sum on the (shifted) grid, so it
    converges with order 1 in num_steps (a Python int: the velocities are kept, [N, B, ...]).
    Returns [B].
    """

    def body(i, carry):
        x, _ = carry
        t, t_next = time_grid(i, num_steps, shift), time_grid(i + 1, num_steps, shift)
        v = velocity(x, jnp.full((x.shape[0],), t, jnp.float32))
        return x + (t_next - t) * v, v

    (x0, _), vs = run_steps(body, (z, jnp.zeros_like(z)), num_steps, trajectory=lambda c: c[1],
                            debug=debug)
    i = jnp.arange(num_steps)
    dt = time_grid(i, num_steps, shift) - time_grid(i + 1, num_steps, shift)  # [N], sums to 1
    axes = tuple(range(2, vs.ndim))
    err = jnp.mean((vs - (z - x0)[None]) ** 2, axis=axes)  # [N, B]
    return jnp.sum(dt[:, None] * err, axis=0)


def generate_pairs(objective, params, num: int, *, sampler: str = "rf_euler", num_steps: int = 20,
                   seed: int = 0, batch_size: int = 500, num_classes: int | None = None):
    """(z [num,H,W,C], x [num,H,W,C], labels [num] or None) from objective.noise / objective.sample
    (a FlowObjective, or a GeneralDiffusionObjective with an rf_* sampler, whose noise is x at
    t = 1). Conditional models get labels b % num_classes at guidance 1 (the conditional flow)."""
    conditional = bool(getattr(objective, "num_classes", None))

    @jax.jit
    def run(params, keys, labels):
        kw = {"labels": labels} if conditional else {}
        return objective.noise(keys), objective.sample(params, keys, sampler=sampler,
                                                       num_steps=num_steps, **kw)

    base = jax.random.PRNGKey(seed)
    zs, xs = [], []
    for start in range(0, num, batch_size):
        idx = jnp.arange(start, min(start + batch_size, num))
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(idx)
        labels = (idx % objective.num_classes).astype(jnp.int32) if conditional else None
        z, x = run(params, keys, labels)
        zs.append(np.asarray(z))
        xs.append(np.asarray(x))
    labels = (np.arange(num) % objective.num_classes).astype(np.int32) if conditional else None
    return np.concatenate(zs), np.concatenate(xs), labels
