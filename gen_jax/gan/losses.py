"""Adversarial losses on critic outputs ("logits") and the gradient regularisers.

D(x) is the raw critic output f(x) (a logit for the saturating/non-saturating losses). Every loss
is a mean over the batch; the discriminator minimises d_loss, the generator minimises g_loss.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

LOSSES = ("nonsaturating", "minimax", "hinge", "wgan-gp")


def d_loss(loss: str, real_logits, fake_logits):
    """Discriminator loss on f(x) [B] for real and f(G(z)) [B] for fake samples.

    nonsaturating / minimax: the same binary cross-entropy, -log σ(f(x)) - log(1 - σ(f(G(z))))
    (Goodfellow et al. 2014, eq. 1); hinge: relu(1 - f(x)) + relu(1 + f(G(z))) (Lim & Ye 2017);
    wgan-gp: f(G(z)) - f(x) (Arjovsky et al. 2017; the penalty is added separately).
    """
    if loss in ("nonsaturating", "minimax"):
        # -log σ(a) = softplus(-a); -log(1 - σ(a)) = softplus(a)
        return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))
    if loss == "hinge":
        return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))
    if loss == "wgan-gp":
        return jnp.mean(fake_logits) - jnp.mean(real_logits)
    raise ValueError(f"unknown GAN loss {loss!r}; expected one of {LOSSES}")


def g_loss(loss: str, fake_logits):
    """Generator loss on f(G(z)) [B].

    minimax: log(1 - σ(f)) = -softplus(f), the saturating form of eq. 1 of Goodfellow et al.;
    nonsaturating: -log σ(f) = softplus(-f) (same paper, sec. 3); hinge and wgan-gp: -f.
    """
    if loss == "minimax":
        return -jnp.mean(jax.nn.softplus(fake_logits))
    if loss == "nonsaturating":
        return jnp.mean(jax.nn.softplus(-fake_logits))
    if loss in ("hinge", "wgan-gp"):
        return -jnp.mean(fake_logits)
    raise ValueError(f"unknown GAN loss {loss!r}; expected one of {LOSSES}")


def _input_grads(critic: Callable, x):
    """∇_x f(x) for every sample of x [B, ...] (per-sample since f acts on samples independently)."""
    return jax.grad(lambda x: jnp.sum(critic(x)))(x)


def gradient_penalty(critic: Callable, real, fake, key):
    """WGAN-GP penalty E[(||∇f(x̂)||₂ - 1)²] at x̂ = ε·x + (1-ε)·G(z), ε ~ U[0, 1] per sample
    (Gulrajani et al. 2017, alg. 1). critic: x [B, ...] -> [B]; real, fake: [B, ...]."""
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
    x_hat = eps * real + (1.0 - eps) * fake
    g = _input_grads(critic, x_hat).reshape(real.shape[0], -1)
    norm = jnp.sqrt(jnp.sum(g * g, axis=-1) + 1e-12)
    return jnp.mean((norm - 1.0) ** 2)


def r1_penalty(critic: Callable, real):
    """R1 = E[||∇f(x)||²] on real data (Mescheder et al. 2018, eq. 9); the loss adds γ/2 · R1."""
    g = _input_grads(critic, real).reshape(real.shape[0], -1)
    return jnp.mean(jnp.sum(g * g, axis=-1))
