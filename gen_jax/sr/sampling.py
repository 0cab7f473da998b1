"""Sampling plumbing shared by the conditional objectives (super-resolution, video): one
dispatch from a sampler name to the samplers of gen_jax/samplers (VP view) and gen_jax/flow
(rectified-flow view), and a strict check of the options a caller passes."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp

from gen_jax.diffusion.general_objective import ALL_SAMPLERS, RF_SAMPLERS
from gen_jax.samplers import SAMPLERS


def check_options(where: str, unknown: dict, accepted) -> None:
    """ValueError naming options a sample() call does not take (none are silently ignored)."""
    if unknown:
        raise ValueError(f"{where}: unknown sampling option(s) {sorted(unknown)}; accepted: "
                         f"{sorted(accepted)}")


def run_sampler(sampler: str, denoiser, velocity, schedule, x_T, keys, num_steps, *, eta=None,
                spacing="trailing", shift=1.0, debug=False):
    """x_T [N, ...] -> samples, by SAMPLERS[sampler](denoiser(), schedule, ...) on the VP view or
    RF_SAMPLERS[sampler](velocity(), ...) on the rectified-flow view. denoiser and velocity are
    thunks (only the one the sampler needs is built); schedule: a thunk giving the VP view.
    keys: per-sample keys [N, 2]."""
    if sampler in RF_SAMPLERS:
        with jax.ensure_compile_time_eval():  # the process's time range is Python floats, also under jit
            v = velocity()
        return RF_SAMPLERS[sampler](v, x_T, num_steps, shift=shift, debug=debug)
    fn = SAMPLERS.get(sampler)
    if fn is None:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {list(ALL_SAMPLERS)}")
    step_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    takes = inspect.signature(fn).parameters
    options = {k: v for k, v in (("eta", eta), ("spacing", spacing)) if v is not None and k in takes}
    with jax.ensure_compile_time_eval():
        d = denoiser()
    with jax.ensure_compile_time_eval():
        table = schedule()
    return fn(d, table, x_T, step_keys, num_steps, debug=debug, **options)


def tile_to(a, n: int):
    """a [B, ...] repeated along axis 0 to n rows (n a multiple of B): the conditioning of a batch
    that classifier-free guidance doubled."""
    return a if a.shape[0] == n else jnp.tile(a, (n // a.shape[0],) + (1,) * (a.ndim - 1))
