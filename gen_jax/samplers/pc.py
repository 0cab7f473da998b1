"""Predictor–corrector sampling of the score SDE (Song et al. 2021, sec. 4.2) on the discrete VP
chain: a reverse-diffusion predictor with Langevin corrector steps, score = −ε/√(1 − ᾱ), as
score_sde's ReverseDiffusionPredictor and LangevinCorrector."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen_jax.diffusion.schedules import DiscreteSchedule
from gen_jax.samplers.common import per_sample_keys, predict, run_steps, sample_noise, timesteps
from gen_jax.samplers.ddpm_ddim import Denoiser


def pc_sample(denoise: Denoiser, schedule: DiscreteSchedule, x_T, key, num_steps, *, snr=0.16,
              n_corrector=1, spacing: str = "trailing", clip_x0: bool = True,
              return_trajectory: bool = False, debug: bool = False):
    """PC sampling from x_T [B, H, W, C] in num_steps·(1 + n_corrector) network calls.

    At each t_i: n_corrector Langevin steps x ← x + ε·s + √(2ε)·z with
    ε = 2α·(snr·‖z‖/‖s‖)², then one reverse-diffusion step to t_{i+1} on the respaced
    chain β' = 1 − ᾱ_t/ᾱ_{t_{i+1}}, α = 1 − β':
      x ← (2 − √(1 − β'))·x + β'·s + √β'·z   (score_sde's ReverseDiffusionPredictor),
    without noise on the last step (score_sde's `denoise=True`). Unlike score_sde, the norms in ε
    are per sample rather than averaged over the batch, so that a sample does not depend on the
    others in its batch. num_steps, snr and n_corrector may be traced.
    """
    keys = per_sample_keys(key, x_T.shape[0])
    corrector_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)  # a stream apart
    T = schedule.num_timesteps
    shape = x_T.shape[1:]

    def score(x, t):
        _, eps = predict(denoise, schedule, x, t, clip_x0)
        return -eps / jnp.sqrt(1.0 - schedule.alpha_bar(t))

    def body(i, x):
        t, t_next = timesteps(i, num_steps, T, spacing), timesteps(i + 1, num_steps, T, spacing)
        beta = jnp.clip(1.0 - schedule.alpha_bar(t) / schedule.alpha_bar(t_next), 0.0, 1.0)
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, i))(corrector_keys)

        def langevin(j, x):
            s = score(x, t)
            z = sample_noise(step_keys, j, shape, x.dtype)
            norm = lambda v: jnp.sqrt(jnp.sum(jnp.square(v), axis=tuple(range(1, v.ndim)), keepdims=True))
            eps = 2.0 * (1.0 - beta) * jnp.square(snr * norm(z) / norm(s))
            return x + eps * s + jnp.sqrt(2.0 * eps) * z

        x = run_steps(langevin, x, n_corrector, debug=debug)
        z = sample_noise(keys, i, shape, x.dtype)
        x_mean = (2.0 - jnp.sqrt(1.0 - beta)) * x + beta * score(x, t)
        return x_mean + jnp.where(t_next >= 0, jnp.sqrt(beta), 0.0) * z

    traj = (lambda x: x) if return_trajectory else None
    return run_steps(body, x_T, num_steps, trajectory=traj, debug=debug)
