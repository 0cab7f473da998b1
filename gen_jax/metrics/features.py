"""Streaming feature statistics (mean and covariance) for FID, mergeable across batches and hosts.

Stored as (n, shift, mean, m2): `shift` is a fixed reference point (the first batch's mean),
`mean` the mean of x − shift and m2 = Σ (x − μ)(x − μ)ᵀ, merged with Chan et al.'s parallel
formula (1979). Centring avoids the catastrophic cancellation of Σxxᵀ − n·μμᵀ, and the shift keeps
the running mean small, so its float32 rounding (an ulp of 1e3 is 6e-5) does not leak into m2 for
features with a large offset such as 1e3 + N(0, 1). Arrays are float64 when jax_enable_x64 is on,
else float32 (covariance then matches float64 np.cov to ~1e-6 relative).
"""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


@flax.struct.dataclass
class FeatureStats:
    n: jax.Array      # [] int32: number of feature vectors seen
    shift: jax.Array  # [D] reference point, set by the first non-empty batch
    mean: jax.Array   # [D] mean of (x − shift)
    m2: jax.Array     # [D, D] Σ (x − μ)(x − μ)ᵀ


def init_stats(dim: int, dtype=None) -> FeatureStats:
    """Empty statistics for D = dim features; dtype defaults to float64 under x64, else float32."""
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    zeros = jnp.zeros((dim,), dtype)
    return FeatureStats(n=jnp.zeros((), jnp.int32), shift=zeros, mean=zeros,
                        m2=jnp.zeros((dim, dim), dtype))


def merge_stats(a: FeatureStats, b: FeatureStats) -> FeatureStats:
    """Statistics of the union of the two sets (Chan et al. 1979); either may be empty."""
    shift = jnp.where(a.n > 0, a.shift, b.shift)
    # Re-express both means relative to the common shift: exact for the side that owns it, and an
    # empty side's shift (0) must not enter, or μ would be rounded to the float32 grid of ~1e3.
    mean_a = a.mean + jnp.where(a.n > 0, a.shift - shift, 0)
    mean_b = b.mean + jnp.where(b.n > 0, b.shift - shift, 0)
    n = a.n + b.n
    dtype = a.mean.dtype
    n_f = jnp.maximum(n, 1).astype(dtype)
    na, nb = a.n.astype(dtype), b.n.astype(dtype)
    delta = mean_b - mean_a
    mean = mean_a + delta * (nb / n_f)
    m2 = a.m2 + b.m2 + jnp.outer(delta, delta) * (na * nb / n_f)
    return FeatureStats(n=n, shift=shift, mean=mean, m2=m2)


def update_stats(stats: FeatureStats, feats, mask=None) -> FeatureStats:
    """Add a batch feats [B, D] (optionally mask [B] bool marking real rows of a padded batch).

    Pure jnp: jit it with feats sharded on the batch axis and XLA reduces across devices.
    """
    dtype = stats.mean.dtype
    x = feats.astype(dtype)
    w = (jnp.ones(x.shape[:1], dtype) if mask is None else mask.astype(dtype))[:, None]
    nb = jnp.sum(w)
    shift = jnp.where(stats.n > 0, stats.shift, jnp.sum(x * w, 0) / jnp.maximum(nb, 1))
    xs = (x - shift) * w
    mean_b = jnp.sum(xs, 0) / jnp.maximum(nb, 1)
    xc = (xs - mean_b) * w
    # HIGHEST: the default float32 matmul on GPU/TPU uses TF32/bf16 passes, far from 1e-6.
    m2_b = jnp.matmul(xc.T, xc, precision=lax.Precision.HIGHEST)
    batch = FeatureStats(n=nb.astype(stats.n.dtype), shift=shift, mean=mean_b, m2=m2_b)
    return merge_stats(stats, batch)


def mean_cov(stats: FeatureStats):
    """(mu [D], sigma [D, D]) as numpy float64; sigma is unbiased like np.cov(rowvar=False)."""
    n = int(stats.n)
    if n < 2:
        raise ValueError(f"mean_cov needs at least 2 feature vectors; the statistics hold {n}")
    mu = np.asarray(stats.shift, np.float64) + np.asarray(stats.mean, np.float64)
    m2 = np.asarray(stats.m2, np.float64)
    return mu, (m2 + m2.T) / (2 * (n - 1))
