"""2-D toy distributions for fast tests (as in the flow-matching / FFJORD literature)."""

from __future__ import annotations

import numpy as np

TOY_SETS = ("moons", "8gaussians", "checkerboard")


def toy_2d(name: str, n: int, seed: int = 0) -> np.ndarray:
    """float32 [n, 2], roughly within [-4, 4]².

    moons: sklearn's two moons scaled ×2, centred; 8gaussians: std-0.1·√2 blobs on a radius-2·√2
    circle (FFJORD); checkerboard: uniform on the 8 dark squares of a 4×4 board on [-4, 4]².
    """
    rng = np.random.default_rng(seed)
    if name == "moons":
        from sklearn.datasets import make_moons

        x, _ = make_moons(n, noise=0.05, random_state=seed)
        return ((x - [0.5, 0.25]) * 2.0).astype(np.float32)
    if name == "8gaussians":
        angles = np.arange(8) * np.pi / 4
        centers = 2 * np.sqrt(2) * np.stack([np.cos(angles), np.sin(angles)], 1)
        idx = rng.integers(0, 8, n)
        return (centers[idx] + 0.1 * np.sqrt(2) * rng.standard_normal((n, 2))).astype(np.float32)
    if name == "checkerboard":
        x1 = rng.uniform(-4, 4, n)
        x2 = rng.uniform(0, 2, n) + 2 * rng.integers(-2, 2, n)
        # dark squares: (floor(x1/2) + floor(x2/2)) even
        flip = (np.floor(x1 / 2) + np.floor(x2 / 2)) % 2 == 1
        x2 = np.where(flip, x2 + 2 * np.where(x2 + 2 < 4, 1, -1), x2)
        return np.stack([x1, x2], 1).astype(np.float32)
    raise ValueError(f"unknown toy set {name!r}; expected one of {TOY_SETS}")
