"""Classifier guidance (Dhariwal & Nichol 2021, sec. 4, Alg. 2): shift the noise prediction by the
gradient of a noise-conditional classifier's log p(y | x_t):
    ε̃ = ε̂ − s·√(1 − ᾱ_t)·∇_{x_t} log p_φ(y | x_t, t),
i.e. the score of p(x_t | y)^(≈ s) under the model. Works with every sampler, since it returns an
ordinary denoiser. (Classifier-free guidance: cfg_apply below, used by gen_jax.conditioning.)"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from gen_jax.diffusion.schedules import DiscreteSchedule, _bcast, q_sample
from gen_jax.samplers.ddpm_ddim import Denoiser


def classifier_guided(denoise: Denoiser, log_prob: Callable, schedule: DiscreteSchedule, labels,
                      scale) -> Denoiser:
    """A denoiser guided by log_prob(x_t [B,...], t [B]) -> log p(y | x_t) [B, K] for labels [B].

    scale (s) may be a runtime value; s = 0 returns the unguided prediction."""

    def guided(x_t, t):
        x0, eps = denoise(x_t, t)

        def total_logp(x):
            return jnp.sum(jnp.take_along_axis(log_prob(x, t), labels[:, None], axis=1))

        grad = jax.grad(total_logp)(x_t)
        a = _bcast(schedule.alpha_bar(t), x_t)
        eps = eps - scale * jnp.sqrt(1.0 - a) * grad
        return (x_t - jnp.sqrt(1.0 - a) * eps) / jnp.sqrt(a), eps

    return guided


def classifier_loss(apply_fn, params, schedule: DiscreteSchedule, x0, labels, key, rngs=None):
    """Cross-entropy of a noise-conditional classifier on x_t ~ q(x_t | x0), t ~ U{0..T−1}.
    apply_fn(params, x_t, t, rngs) -> logits [B, K]."""
    k_t, k_eps = jax.random.split(key)
    t = jax.random.randint(k_t, (x0.shape[0],), 0, schedule.num_timesteps)
    x_t = q_sample(schedule, x0, t, jax.random.normal(k_eps, x0.shape, x0.dtype))
    logits = apply_fn(params, x_t, t, rngs)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))


def cfg_apply(apply, x_t, t, labels, null, guidance):
    """Classifier-free guidance out = f(x, ∅) + w·(f(x, y) − f(x, ∅)) (Ho & Salimans 2022, in
    diffusers' form) for apply(x_t, t, labels) -> output: w = 0 is the unconditional model, w = 1
    the conditional one. Both halves come from one batched call; w is a runtime value, and at
    w ∈ {0, 1} a runtime branch makes a single call."""
    w = jnp.asarray(guidance, jnp.float32)

    def guided(_):
        out = apply(jnp.concatenate([x_t, x_t]), jnp.concatenate([t, t]),
                    jnp.concatenate([labels, null]))
        cond, uncond = jnp.split(out, 2)
        return uncond + w * (cond - uncond)

    def single(_):
        return apply(x_t, t, jnp.where(w == 0, null, labels))

    return jax.lax.cond((w == 0) | (w == 1), single, guided, None)
