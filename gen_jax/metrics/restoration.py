"""Restoration metrics for super-resolution: PSNR, SSIM and the consistency of an output with its
low-resolution input. Images [B, H, W, C] in [-1, 1] (data range 2); each returns one value per
image [B] unless said otherwise."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen_jax.data.lowres import downsample


def psnr(x, y, data_range: float = 2.0):
    """10·log10(range² / MSE) per image [B] (inf where x == y)."""
    mse = jnp.mean((jnp.asarray(x, jnp.float32) - jnp.asarray(y, jnp.float32)) ** 2, axis=(1, 2, 3))
    return 10.0 * jnp.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float):
    g = jnp.exp(-0.5 * ((jnp.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return g / g.sum()


def ssim(x, y, data_range: float = 2.0, window: int = 7, sigma: float = 1.5):
    """Mean SSIM per image [B] (Wang et al. 2004): Gaussian-weighted local statistics over
    window×window patches (valid positions only; 7 suits 28- and 32-pixel images, the paper used
    11), K1 = 0.01, K2 = 0.03, averaged over positions and channels."""
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    b, h, w, c = x.shape
    if min(h, w) < window:
        raise ValueError(f"ssim: images {h}x{w} are smaller than the window {window}")
    g = _gaussian_window(window, sigma)
    kernel = jnp.outer(g, g)[:, :, None, None]

    def blur(a):  # per channel: [B, H, W, C] -> [B, H', W', C]
        a = jnp.moveaxis(a, -1, 0).reshape(c * b, h, w, 1)
        out = jax.lax.conv_general_dilated(a, kernel, (1, 1), "VALID",
                                           dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jnp.moveaxis(out.reshape(c, b, *out.shape[1:3]), 0, -1)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return jnp.mean(s, axis=(1, 2, 3))


def consistency_mse(x_hat, lowres):
    """MSE between the output downsampled to the input's size (box averaging, as the low-res
    views are made) and the low-res input [B, h, w, C], per image [B]."""
    return jnp.mean((downsample(x_hat, lowres.shape[1]) - lowres) ** 2, axis=(1, 2, 3))
