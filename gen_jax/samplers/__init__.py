"""Samplers: pure functions `sample(denoise, schedule, x_T, key, num_steps, ...) -> x_0`."""

from gen_jax.samplers.common import run_steps, sample_noise, per_sample_keys, timesteps  # noqa: F401
from gen_jax.samplers.ddpm_ddim import ddim_sample, ddpm_sample, make_denoiser  # noqa: F401
from gen_jax.samplers.dpm_solver import dpm_solver_2_sample, dpm_solver_pp_2m_sample  # noqa: F401
from gen_jax.samplers.karras import euler_ancestral_sample, euler_sample, heun_sample  # noqa: F401
from gen_jax.samplers.pc import pc_sample  # noqa: F401
from gen_jax.samplers.unipc import unipc_sample  # noqa: F401

# name -> sampler, all called as fn(denoise, schedule, x_T, key, num_steps, **options).
# Network calls per sample for num_steps = N: N, except heun and dpm_solver_2 (2N − 1) and pc
# (N·(1 + n_corrector)).
SAMPLERS = {
    "ddpm": ddpm_sample,
    "ddim": ddim_sample,
    "dpm_solver_2": dpm_solver_2_sample,
    "dpm_solver_pp_2m": dpm_solver_pp_2m_sample,
    "euler": euler_sample,
    "euler_ancestral": euler_ancestral_sample,
    "heun": heun_sample,
    "unipc": unipc_sample,
    "pc": pc_sample,
}
