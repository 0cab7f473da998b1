"""A trained model as the samplers see it, built once for every noise path and parametrisation.

`Views` bundles the two views of gen_jax.samplers.registry: `denoise(x_vp, t_idx) -> (x0, ε)` on
the path's VP view `schedule`, and `velocity(x_rf, t_rf) -> ε − x0` on its rectified-flow view.
`views_of(model_fn, path, prediction)` builds both from a network on the path's own time
(model_fn(x_t [B,...], t [B] float) -> prediction), through the exact conversions of
gen_jax.diffusion.process; `draw` is the shared sampling entry (noise, keys, dispatch).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from gen_jax.diffusion.process import (Process, RectifiedFlowPath, TableVP, broadcast_coefficients,
                                       to_x0_eps)
from gen_jax.samplers import registry
from gen_jax.samplers.common import per_sample_keys

LOGSNR_MAX = 40.0  # |log-SNR| is clipped here before mapping to t: ±inf at the ends of a path


@dataclasses.dataclass(frozen=True)
class Views:
    denoise: Callable | None = None    # (x_vp [B,...], t_idx [B]) -> (x0_hat, eps_hat) on schedule
    schedule: object = None            # DiscreteSchedule: the VP view's table
    velocity: Callable | None = None   # (x_rf [B,...], t_rf [B]) -> ε − x0

    def map_denoise(self, fn: Callable) -> "Views":
        """The same views with the VP denoiser replaced by fn(denoise) (e.g. classifier guidance)."""
        return dataclasses.replace(self, denoise=fn(self.denoise))


def vp_denoiser(model_fn: Callable, process: Process, prediction: str, schedule):
    """denoise(x_vp, t_idx) -> (x0, ε) on `schedule` (process.vp_schedule()): x_vp = x_t/√(α² + σ²)
    at ᾱ = schedule.alpha_bar(t_idx) (int or float), whose log-SNR gives the process time t exactly
    (Karras et al. 2022, sec. 4)."""
    t_hi = process.sample_t_max()

    def denoise(x_vp, t_idx):
        a = schedule.alpha_bar(t_idx)
        logsnr = jnp.clip(jnp.log(a) - jnp.log1p(-a), -LOGSNR_MAX, LOGSNR_MAX)
        t = jnp.clip(process.t_of_logsnr(logsnr), process.t_min, t_hi)
        coef = broadcast_coefficients(process, t, x_vp)
        x_t = x_vp * jnp.sqrt(coef[0] ** 2 + coef[1] ** 2)
        return to_x0_eps(prediction, model_fn(x_t, t).astype(x_t.dtype), x_t, *coef)

    return denoise


def rf_velocity(model_fn: Callable, process: Process, prediction: str):
    """velocity(x_rf, t_rf) -> ε − x0: any path seen as x_rf = x_t/(α + σ) at t_rf = σ/(α + σ)
    (same SNR). For the RF path with velocity prediction this is the network itself. t is clipped
    into the process's range (ε/score predictions stop where ᾱ reaches ALPHA_BAR_FLOOR: they cannot
    give x0 at α = 0)."""
    if isinstance(process, RectifiedFlowPath) and prediction == "velocity":
        return model_fn
    t_lo = max(process.t_min, 1e-5)
    t_hi = process.t_max if prediction in ("x0", "v", "velocity", "edm") else process.sample_t_max()

    def velocity(x_rf, t_rf):
        logsnr = jnp.clip(2.0 * (jnp.log1p(-t_rf) - jnp.log(t_rf)), -LOGSNR_MAX, LOGSNR_MAX)
        t = jnp.clip(process.t_of_logsnr(logsnr), t_lo, t_hi)
        coef = broadcast_coefficients(process, t, x_rf)
        x_t = x_rf * (coef[0] + coef[1])
        x0, eps = to_x0_eps(prediction, model_fn(x_t, t).astype(x_t.dtype), x_t, *coef)
        return eps - x0

    return velocity


def vp_table(process: Process, vp_timesteps: int = 1000):
    """The VP view's table (a DiscreteSchedule): a table process's own, else vp_timesteps entries."""
    return process.vp_schedule() if isinstance(process, TableVP) else process.vp_schedule(vp_timesteps)


def views_of(model_fn: Callable, process: Process, prediction: str, vp_timesteps: int = 1000,
             denoise: Callable | None = None) -> Views:
    """Both views of model_fn(x_t, t) on `process` in `prediction`. denoise: a native VP denoiser
    to use instead of the converted one (DDPM networks take the integer table index)."""
    schedule = vp_table(process, vp_timesteps)
    return Views(denoise=denoise or vp_denoiser(model_fn, process, prediction, schedule),
                 schedule=schedule, velocity=rf_velocity(model_fn, process, prediction))


def noise(key, image_shape, num: int | None = None):
    """Starting noise [N, *image_shape]: sample b's from its own key (one key with num, or [N, 2])."""
    keys = per_sample_keys(key, num) if jnp.ndim(key) == 1 else key
    return jax.vmap(lambda k: jax.random.normal(k, tuple(image_shape)))(keys)


def draw(sampler: str, views: Views, key, image_shape, num: int | None, num_steps, *,
         clip: bool = True, **options):
    """Samples [N, *image_shape], clipped to [-1, 1] unless clip=False (latents), and a
    trajectory too with return_trajectory.
    key: one key (with num) or per-sample keys [N, 2]; sample b's noise comes from key b and its
    sampler noise from fold_in(key b, 1), so a sample never depends on N or the device count."""
    keys = per_sample_keys(key, num) if jnp.ndim(key) == 1 else key
    x_T = noise(keys, image_shape)
    step_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    out = registry.run(sampler, views, x_T, step_keys, num_steps, **options)
    final = (lambda x: jnp.clip(x, -1.0, 1.0)) if clip else (lambda x: x)
    if options.get("return_trajectory"):
        return final(out[0]), out[1]
    return final(out)
