"""Fréchet distance between Gaussians (FID, Heusel et al. 2017).

d² = ‖μ1 − μ2‖² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1Σ2)^½).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg


def _sqrtm_psd(sigma):
    """Symmetric square root of a symmetric PSD matrix; tiny negative eigenvalues clipped to 0."""
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _trace_sqrt_product(sigma1, sigma2, eps, method):
    if method == "eigh":
        # Σ1Σ2 is similar to S Σ2 S with S = Σ1^½, which is symmetric PSD: its eigenvalues are real
        # and ≥ 0, so tr((Σ1Σ2)^½) = Σ √λ without the complex round-off of a general sqrtm.
        s1 = _sqrtm_psd(sigma1)
        m = s1 @ sigma2 @ s1
        lam = np.linalg.eigvalsh((m + m.T) / 2)
        return float(np.sum(np.sqrt(np.clip(lam, 0, None))))
    if method == "sqrtm":
        # pytorch-fid's recipe: sqrtm of the product, retried with ε·I added to both covariances
        # when the result is not finite (singular product), imaginary round-off dropped.
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0], dtype=sigma1.dtype) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if np.iscomplexobj(covmean):
            if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
                raise ValueError(f"sqrtm(Σ1Σ2) has an imaginary component of "
                                 f"{np.max(np.abs(covmean.imag)):.3g}; expected a real matrix")
            covmean = covmean.real
        return float(np.trace(covmean))
    raise ValueError(f"unknown method {method!r}; expected 'eigh' or 'sqrtm'")


def frechet_distance(mu1, sigma1, mu2, sigma2, *, eps: float = 1e-6, dtype=np.float64,
                     method: str = "eigh") -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    mu: [D], sigma: [D, D] symmetric PSD. Computed in `dtype` (float64 by default).
    method: 'eigh' (default, symmetric form, no ε needed) or 'sqrtm' (pytorch-fid's, uses `eps`).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, dtype)), np.atleast_1d(np.asarray(mu2, dtype))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, dtype)), np.atleast_2d(np.asarray(sigma2, dtype))
    d = mu1.shape[0]
    for name, x, shape in (("mu2", mu2, (d,)), ("sigma1", sigma1, (d, d)), ("sigma2", sigma2, (d, d))):
        if x.shape != shape:
            raise ValueError(f"{name} has shape {x.shape}; expected {shape} to match mu1 {mu1.shape}")
    diff = mu1 - mu2
    tr_covmean = _trace_sqrt_product(sigma1, sigma2, eps, method)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def fid_from_features(feats_a, feats_b, **kwargs) -> float:
    """FID between two feature sets [N, D] and [M, D] (mean and np.cov in float64)."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False),
                            **kwargs)
