"""Low-resolution views for super-resolution: box downsampling and bicubic/nearest upsampling.

Both work on NHWC arrays (numpy or jax) and are jit-compatible; a super-resolution objective
computes its low-resolution input from the high-resolution batch with them, so no separate
dataset is needed (MNIST 28 -> 7, CIFAR-10 32 -> 8 or 16).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

UPSAMPLE_METHODS = ("bicubic", "nearest", "bilinear")


def downsample(x, size: int):
    """x [B, H, W, C] -> [B, size, size, C], each (H/size)×(W/size) block averaged (area
    resampling; H and W must be multiples of size). Exact inverse-consistent with nearest:
    downsample(upsample(z, H, "nearest"), size) == z."""
    b, h, w, c = x.shape
    if h % size or w % size:
        raise ValueError(f"downsample: size {size} must divide the image size {h}x{w}")
    return jnp.mean(jnp.reshape(x, (b, size, h // size, size, w // size, c)), axis=(2, 4))


def upsample(z, size: int, method: str = "bicubic"):
    """z [B, h, w, C] -> [B, size, size, C] by jax.image.resize (bicubic: Keys' cubic, a = −0.5)."""
    if method not in UPSAMPLE_METHODS:
        raise ValueError(f"upsample method must be one of {UPSAMPLE_METHODS}, got {method!r}")
    b, _, _, c = z.shape
    return jax.image.resize(z, (b, size, size, c), method)


def lowres_view(x, size: int, method: str = "bicubic"):
    """(z, z_up): x [B, H, W, C] downsampled to size×size, and z upsampled back to H×W."""
    z = downsample(x, size)
    return z, upsample(z, x.shape[1], method)
