import numpy as np
import pytest
import scipy.linalg
from scipy.stats import special_ortho_group

from gen_jax.metrics import fid_from_features, frechet_distance


def _random_cov(rng, d, n=None):
    x = rng.normal(size=(n or 4 * d, d)) * rng.uniform(0.1, 3.0, size=d)
    return np.cov(x, rowvar=False)


def test_identical_feature_sets_give_zero():
    x = np.random.default_rng(0).normal(size=(500, 32)) * 5 + 3
    fid = fid_from_features(x, x)
    scale = np.trace(np.cov(x, rowvar=False))  # ~ 32 * 25
    assert abs(fid) < 1e-6 * scale


@pytest.mark.parametrize("method", ["eigh", "sqrtm"])
def test_diagonal_gaussians_match_closed_form(method):
    """N(μ1, diag s1) vs N(μ2, diag s2): d² = ‖μ1−μ2‖² + Σ(s1 + s2 − 2√(s1 s2)); the same rotation
    Q applied to both (Σ -> QΣQᵀ, μ -> Qμ) leaves it unchanged and makes Σ1Σ2 non-diagonal."""
    rng = np.random.default_rng(1)
    d = 16
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = rng.uniform(0.1, 4.0, d), rng.uniform(0.1, 4.0, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    q = special_ortho_group.rvs(d, random_state=2)
    sigma1, sigma2 = q @ np.diag(s1) @ q.T, q @ np.diag(s2) @ q.T
    got = frechet_distance(q @ mu1, sigma1, q @ mu2, sigma2, method=method)
    assert got == pytest.approx(expected, rel=1e-10)


def test_matches_direct_scipy_formula_on_full_covariances():
    rng = np.random.default_rng(3)
    d = 24
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    sigma1, sigma2 = _random_cov(rng, d), _random_cov(rng, d)
    direct = (np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
              - 2 * np.trace(scipy.linalg.sqrtm(sigma1 @ sigma2).real))
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(direct, rel=1e-9)


def test_rank_deficient_covariance_with_itself_is_zero():
    """N = 20 < D = 64: Σ is singular, the case pytorch-fid needs its ε offset for."""
    rng = np.random.default_rng(4)
    sigma = _random_cov(rng, 64, n=20)
    mu = rng.normal(size=64)
    fid = frechet_distance(mu, sigma, mu, sigma)
    # The 44 zero eigenvalues come back as ±1e-15·λ_max, and √ turns that into ~1e-8·λ_max each.
    assert abs(fid) < 1e-7 * np.trace(sigma)


def test_float32_on_request_is_close_to_float64():
    rng = np.random.default_rng(5)
    d = 32
    args = (rng.normal(size=d), _random_cov(rng, d), rng.normal(size=d), _random_cov(rng, d))
    f64 = frechet_distance(*args)
    assert frechet_distance(*args, dtype=np.float32) == pytest.approx(f64, rel=1e-4)


def test_shape_mismatch_names_the_argument():
    with pytest.raises(ValueError, match=r"sigma2 has shape \(3, 3\); expected \(2, 2\)"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
