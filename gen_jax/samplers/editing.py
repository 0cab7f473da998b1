"""Editing with an unconditional-or-conditional denoiser: inpainting (with RePaint resampling)
and img2img / SDEdit. Both run DDIM(η) steps in an on-device loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.diffusion.schedules import DiscreteSchedule, q_sample
from gen_jax.samplers.common import per_sample_keys, run_steps, sample_noise, timesteps
from gen_jax.samplers.ddpm_ddim import Denoiser, ddim_step


def _known_at(schedule, x_known, t, keys, k, shape, dtype):
    """The known image noised to level t (fresh noise, a stream apart from the sampler's)."""
    z = sample_noise(jax.vmap(lambda kk: jax.random.fold_in(kk, 7))(keys), k, shape, dtype)
    return q_sample(schedule, x_known, jnp.full((x_known.shape[0],), t), z)


def repaint_schedule(num_steps: int, jump_length: int = 1, jump_n_sample: int = 1) -> np.ndarray:
    """RePaint's step order (Lugmayr et al. 2022, sec. 4.2) as int32 [K, 2] rows (i, up):
    up = 0: denoise step i (t_i -> t_{i+1}); up = 1: re-noise back from t_{i+1} to t_i.
    After every jump_length denoising steps, jump back jump_length steps, jump_n_sample − 1 times."""
    if jump_length < 1 or jump_n_sample < 1:
        raise ValueError(f"jump_length and jump_n_sample must be >= 1, got {jump_length}, {jump_n_sample}")
    ops, jumps = [], {}
    i = 0
    while i < num_steps:
        ops.append((i, 0))
        i += 1
        if i % jump_length == 0 and i < num_steps:
            jumps.setdefault(i, jump_n_sample - 1)
            if jumps[i] > 0:
                jumps[i] -= 1
                for j in range(jump_length):
                    ops.append((i - 1 - j, 1))
                i -= jump_length
    return np.asarray(ops, np.int32)


def inpaint(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, x_known, mask, *,
            eta=1.0, spacing: str = "trailing", clip_x0: bool = True, jump_length: int = 1,
            jump_n_sample: int = 1, debug: bool = False):
    """Fill the pixels where mask == 0; keep x_known where mask == 1 (exactly, at the end).

    x_known: [B, H, W, C] in [-1, 1]; mask broadcastable to it (1 = known). After each step the
    known region is replaced by x_known noised to the new level (Lugmayr et al. 2022, eq. 8).
    With jump_n_sample > 1 (RePaint resampling), num_steps must be a Python int.
    """
    keys = per_sample_keys(key, x_T.shape[0])
    mask = jnp.broadcast_to(jnp.asarray(mask, x_T.dtype), x_T.shape)
    T = schedule.num_timesteps
    shape = x_T.shape[1:]

    def down(k, i, x):
        x = ddim_step(denoise, schedule, x, i, num_steps, eta,
                      sample_noise(keys, k, shape, x.dtype), spacing, clip_x0)
        known = _known_at(schedule, x_known, timesteps(i + 1, num_steps, T, spacing), keys, k, shape, x.dtype)
        return mask * known + (1 - mask) * x

    if jump_n_sample == 1:
        return run_steps(lambda i, x: down(i, i, x), x_T, num_steps, debug=debug)

    ops = jnp.asarray(repaint_schedule(int(num_steps), jump_length, jump_n_sample))

    def up(k, i, x):
        # q(x_t | x_{t_prev}) = N(√(ᾱ_t/ᾱ_prev)·x, (1 − ᾱ_t/ᾱ_prev)·I): one forward jump
        a = schedule.alpha_bar(timesteps(i, num_steps, T, spacing))
        a_prev = schedule.alpha_bar(timesteps(i + 1, num_steps, T, spacing))
        z = sample_noise(keys, k, shape, x.dtype)
        return jnp.sqrt(a / a_prev) * x + jnp.sqrt(jnp.maximum(1 - a / a_prev, 0.0)) * z

    def body(k, x):
        i, is_up = ops[k, 0], ops[k, 1]
        return jax.lax.cond(is_up == 1, lambda x: up(k, i, x), lambda x: down(k, i, x), x)

    return run_steps(body, x_T, ops.shape[0], debug=debug)


def img2img(denoise: Denoiser, schedule: DiscreteSchedule, x_init, key, num_steps, strength, *,
            eta=0.0, spacing: str = "trailing", clip_x0: bool = True, debug: bool = False):
    """SDEdit (Meng et al. 2022): noise x_init [B, H, W, C] to the level of step
    n − round(strength·n) and run the remaining DDIM steps. strength ∈ [0, 1] (0 returns x_init,
    1 starts from almost pure noise); num_steps and strength may be runtime values."""
    keys = per_sample_keys(key, x_init.shape[0])
    n = jnp.asarray(num_steps, jnp.int32)
    start = n - jnp.round(jnp.clip(strength, 0.0, 1.0) * n).astype(jnp.int32)
    if debug:
        start = int(start)
    t0 = timesteps(start, n, schedule.num_timesteps, spacing)
    z0 = jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, 11), x_init.shape[1:], x_init.dtype))(keys)
    x = jnp.where(t0 >= 0, q_sample(schedule, x_init, jnp.full((x_init.shape[0],), t0), z0), x_init)

    def body(i, x):
        return ddim_step(denoise, schedule, x, i, num_steps, eta,
                         sample_noise(keys, i, x.shape[1:], x.dtype), spacing, clip_x0)

    return run_steps(body, x, num_steps, debug=debug, start=start)
