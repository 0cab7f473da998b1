"""Samplers: pure functions `sample(denoise, schedule, x_T, key, num_steps, ...) -> x_0`."""

from gen_jax.samplers.common import run_steps, sample_noise, per_sample_keys, timesteps  # noqa: F401
from gen_jax.samplers.ddpm_ddim import ddim_sample, ddpm_sample, make_denoiser  # noqa: F401

SAMPLERS = ("ddpm", "ddim")
