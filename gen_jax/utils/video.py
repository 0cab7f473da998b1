"""Clips as animated GIF grids: frame t of the GIF tiles frame t of every clip (utils.images.make_grid)."""

from __future__ import annotations

import math
import os

import numpy as np

from gen_jax.utils.images import make_grid, to_uint8


def clip_grid_frames(clips, ncols: int | None = None, scale: int = 1) -> np.ndarray:
    """clips [N, T, H, W, C] (uint8, or floats in [-1, 1]) -> uint8 grid frames [T, GH, GW, C]."""
    clips = np.asarray(clips)
    if clips.ndim != 5:
        raise ValueError(f"clips: expected [N, T, H, W, C], got shape {clips.shape}")
    if clips.dtype != np.uint8:
        clips = to_uint8(clips)
    return np.stack([make_grid(clips[:, t], ncols, scale=scale) for t in range(clips.shape[1])])


def save_gif(path: str, clips, ncols: int | None = None, fps: float = 4.0, min_size: int = 256) -> str:
    """Write clips [N, T, H, W, C] as one looping GIF of grids (upscaled, nearest, to at least
    min_size pixels wide). Returns path."""
    from PIL import Image

    clips = np.asarray(clips)
    n, _, _, w, c = clips.shape
    ncols = ncols or int(math.ceil(math.sqrt(n)))
    scale = max(1, int(math.ceil(min_size / max(1, min(ncols, n) * w))))
    frames = clip_grid_frames(clips, ncols, scale)
    images = [Image.fromarray(f[..., 0] if c == 1 else f) for f in frames]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
