"""Samplers: pure functions on a model's VP view `fn(denoise, schedule, x_T, key, num_steps, ...)`
or rectified-flow view `fn(velocity, x_1, num_steps, ...)`, in one registry (registry.SAMPLERS)
with unique names; `views.draw` runs any of them on any noise path."""

from gen_jax.samplers.common import run_steps, sample_noise, per_sample_keys, timesteps  # noqa: F401
from gen_jax.samplers.ddpm_ddim import ddim_sample, ddpm_sample, make_denoiser  # noqa: F401
from gen_jax.samplers.dpm_solver import dpm_solver_2_sample, dpm_solver_pp_2m_sample  # noqa: F401
from gen_jax.samplers.karras import euler_ancestral_sample, euler_sample, heun_sample  # noqa: F401
from gen_jax.samplers.pc import pc_sample  # noqa: F401
from gen_jax.samplers.unipc import unipc_sample  # noqa: F401
from gen_jax.samplers.registry import SAMPLERS, SamplerSpec, check_options, run  # noqa: F401
