"""Condition maps computed from images, for structural conditioning (ControlNet): Sobel edges and
foreground masks. x: [B, H, W, C] in [-1, 1] -> map [B, H, W, 1] in {0, 1}."""

from __future__ import annotations

import jax
import jax.numpy as jnp

# Sobel kernels / 8, so a step of height s gives |∇| = s/2 on both pixels beside it: a black-to-white
# step of x in [-1, 1] (s = 2) gives 1.
_SOBEL_X = jnp.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0


def sobel_magnitude(x):
    """|∇ gray(x)| [B, H, W, 1] by the Sobel operator; borders replicate the edge pixels, so a
    constant image has magnitude 0 everywhere."""
    gray = jnp.mean(x, axis=-1, keepdims=True)
    padded = jnp.pad(gray, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    kernels = jnp.stack([_SOBEL_X, _SOBEL_X.T], axis=-1)[:, :, None, :]  # HWIO: [3, 3, 1, 2]
    g = jax.lax.conv_general_dilated(padded, kernels.astype(x.dtype), (1, 1), "VALID",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jnp.sqrt(jnp.sum(g**2, axis=-1, keepdims=True))


def sobel_edges(x, threshold: float = 0.5):
    """Binary edge map [B, H, W, 1]: 1 where the Sobel magnitude exceeds threshold (1 = a full
    black-to-white step)."""
    return (sobel_magnitude(x) > threshold).astype(jnp.float32)


def foreground_mask(x, threshold: float = 0.0):
    """Binary mask [B, H, W, 1]: 1 where the grey level exceeds threshold."""
    return (jnp.mean(x, axis=-1, keepdims=True) > threshold).astype(jnp.float32)


CONDITIONS = {"edges": sobel_edges, "mask": foreground_mask}


def condition_map(name: str, x, threshold: float | None = None):
    """CONDITIONS[name](x, threshold) (threshold None: the function's default)."""
    if name not in CONDITIONS:
        raise ValueError(f"unknown condition {name!r}; expected one of {sorted(CONDITIONS)}")
    return CONDITIONS[name](x) if threshold is None else CONDITIONS[name](x, threshold)
