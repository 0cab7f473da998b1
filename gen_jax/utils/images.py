"""Image grids and conversions between model space [-1, 1] and uint8."""

from __future__ import annotations

import math
import os

import numpy as np


def to_uint8(x) -> np.ndarray:
    """[-1, 1] float -> uint8 [0, 255] (rounded, clipped)."""
    x = np.asarray(x, np.float32)
    return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(images: np.ndarray, ncols: int | None = None, pad: int = 1, scale: int = 1) -> np.ndarray:
    """Tile uint8 images [N, H, W, C] into one [rows·(H+pad)+pad, ...] image (C = 1 or 3)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    n, h, w, c = images.shape
    if scale > 1:
        images = images.repeat(scale, 1).repeat(scale, 2)
        h, w = h * scale, w * scale
    ncols = ncols or int(math.ceil(math.sqrt(n)))
    nrows = int(math.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, ncols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = images[i]
    return grid


def save_grid(path: str, images, ncols: int | None = None, min_size: int = 256) -> str:
    """Save a PNG grid; small images are upscaled (nearest) so the grid is at least min_size wide."""
    from PIL import Image

    images = np.asarray(images)
    n, h, w, c = images.shape
    ncols = ncols or int(math.ceil(math.sqrt(n)))
    scale = max(1, int(math.ceil(min_size / max(1, ncols * w))))
    grid = make_grid(images, ncols, scale=scale)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(grid[..., 0] if c == 1 else grid).save(path)
    return path
