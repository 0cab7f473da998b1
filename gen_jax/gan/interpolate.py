"""Latent interpolation for generators with a Gaussian prior."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def slerp(z0, z1, t):
    """Spherical interpolation (Shoemake 1985; for GAN latents: White 2016) between z0 and z1 [D]
    at t [T] -> [T, D]. t = 0 and t = 1 return z0 and z1 exactly; (anti)parallel z's fall back
    to linear interpolation."""
    t = jnp.asarray(t, z0.dtype)[:, None]
    cos = jnp.dot(z0, z1) / (jnp.linalg.norm(z0) * jnp.linalg.norm(z1))
    omega = jnp.arccos(jnp.clip(cos, -1.0, 1.0))
    sin = jnp.sin(omega)
    ok = sin > 1e-6
    safe = jnp.where(ok, sin, 1.0)
    w0 = jnp.where(ok, jnp.sin((1.0 - t) * omega) / safe, 1.0 - t)
    w1 = jnp.where(ok, jnp.sin(t * omega) / safe, t)
    # the weights are 1 and 0 at the ends only up to rounding: select the endpoints exactly
    return jnp.where(t == 0, z0, jnp.where(t == 1, z1, w0 * z0 + w1 * z1))


def slerp_grid(key, rows: int, cols: int, z_dim: int):
    """Latents [rows·cols, z_dim]: row r goes by slerp from z_{2r} to z_{2r+1} in cols steps, where
    z_i ~ N(0, I) is drawn with fold_in(key, i), the latent of sample i in GANObjective.sample."""
    z = jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(key, i), (z_dim,)))(jnp.arange(2 * rows))
    t = jnp.linspace(0.0, 1.0, cols)
    return jax.vmap(lambda a, b: slerp(a, b, t))(z[0::2], z[1::2]).reshape(rows * cols, z_dim)
