"""Sampling plumbing shared by the conditional objectives (super-resolution, video): the model's
views (gen_jax.samplers.views) built outside any jit trace, and conditioning tiled for CFG."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen_jax.samplers.views import Views, views_of


def build_views(model_fn, process, prediction: str, vp_timesteps: int = 1000) -> Views:
    """views_of(...) with the process's tables and time range computed eagerly: their Python-float
    conversions (Process.sample_t_max) must not see tracers when sample() runs under jit."""
    with jax.ensure_compile_time_eval():
        return views_of(model_fn, process, prediction, vp_timesteps)


def tile_to(a, n: int):
    """a [B, ...] repeated along axis 0 to n rows (n a multiple of B): the conditioning of a batch
    that classifier-free guidance doubled."""
    return a if a.shape[0] == n else jnp.tile(a, (n // a.shape[0],) + (1,) * (a.ndim - 1))
