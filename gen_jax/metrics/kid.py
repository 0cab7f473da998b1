"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a cubic polynomial kernel."""

from __future__ import annotations

import numpy as np


def _poly_kernel(x, y):
    """k(x, y) = (xᵀy / d + 1)³ for rows of x [m, d] and y [m, d] -> [m, m]."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def _mmd2_unbiased(x, y):
    """Unbiased MMD² (Gretton et al. 2012, eq. 3): diagonals of k_xx, k_yy left out."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return (sum_xx + sum_yy) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m)


def kernel_inception_distance(feats_a, feats_b, *, num_subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0, dtype=np.float64):
    """KID between feats_a [N, D] and feats_b [M, D] -> (mean, std) over random subsets.

    Each subset draws m = min(subset_size, N, M) rows of each set without replacement, as
    torch-fidelity and clean-fid do. Draws: rng = np.random.default_rng(seed), then per subset
    rng.choice(N, m, replace=False) for a followed by rng.choice(M, m, replace=False) for b.
    """
    a, b = np.asarray(feats_a, dtype), np.asarray(feats_b, dtype)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feats_a and feats_b must be [N, D] and [M, D]; got {a.shape} and {b.shape}")
    m = min(subset_size, a.shape[0], b.shape[0])
    if m < 2:
        raise ValueError(f"KID needs subsets of at least 2 rows; got subset size {m} "
                         f"(subset_size={subset_size}, N={a.shape[0]}, M={b.shape[0]})")
    rng = np.random.default_rng(seed)
    mmds = np.empty(num_subsets, np.float64)
    for i in range(num_subsets):
        ia = rng.choice(a.shape[0], m, replace=False)
        ib = rng.choice(b.shape[0], m, replace=False)
        mmds[i] = _mmd2_unbiased(a[ia], b[ib])
    return float(mmds.mean()), float(mmds.std())
