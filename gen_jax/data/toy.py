"""2-D toy distributions for fast tests, as in FFJORD (Grathwohl et al. 2019, its
`toy_data.inf_train_gen`) and the flow-matching literature. All lie roughly within [-4, 4]²."""

from __future__ import annotations

import numpy as np

TOY_SETS = ("moons", "8gaussians", "checkerboard")


def toy_2d(name: str, n: int, seed: int = 0) -> np.ndarray:
    """n samples, float32 [n, 2], a deterministic function of (name, n, seed).

    moons: scikit-learn's two moons (noise 0.05), mean moved to the origin and scaled ×2, so
      about [-3.3, 3.3]×[-1.8, 1.8]; each moon is an arc of radius 2.
    8gaussians: equal mixture of 8 isotropic Gaussians with std 0.5/√2 ≈ 0.354 whose means sit at
      angles k·π/4 on the circle of radius 4/√2 = 2√2 ≈ 2.83 (FFJORD's scale).
    checkerboard: uniform on the 8 dark squares (floor(x/2) + floor(y/2) even) of a 4×4 board of
      2×2 squares covering [-4, 4]² (FFJORD's construction).
    """
    rng = np.random.default_rng(seed)
    if name == "moons":
        from sklearn.datasets import make_moons

        x, _ = make_moons(n, noise=0.05, random_state=seed)
        return ((x - [0.5, 0.25]) * 2.0).astype(np.float32)
    if name == "8gaussians":
        angles = np.arange(8) * np.pi / 4
        means = 2 * np.sqrt(2) * np.stack([np.cos(angles), np.sin(angles)], 1)
        x = means[rng.integers(0, 8, n)] + 0.5 / np.sqrt(2) * rng.standard_normal((n, 2))
        return x.astype(np.float32)
    if name == "checkerboard":
        # Column c = floor(x1) in {-2..1}; rows {-2, 0} for even c, {-1, 1} for odd c; then ×2.
        x1 = rng.uniform(-2, 2, n)
        x2 = rng.uniform(0, 1, n) - 2 * rng.integers(0, 2, n) + np.floor(x1) % 2
        return (2 * np.stack([x1, x2], 1)).astype(np.float32)
    raise ValueError(f"unknown toy set {name!r}; expected one of {TOY_SETS}")
