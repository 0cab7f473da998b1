"""Reconstruction fidelity."""

from __future__ import annotations

import numpy as np


def psnr(a_uint8, b_uint8) -> np.ndarray:
    """Per-image PSNR in dB of uint8 images [N, H, W, C]: 10·log10(255² / MSE)."""
    a, b = np.asarray(a_uint8, np.float64), np.asarray(b_uint8, np.float64)
    mse = np.maximum(((a - b) ** 2).reshape(len(a), -1).mean(1), 1e-10)
    return 10.0 * np.log10(255.0 ** 2 / mse)
