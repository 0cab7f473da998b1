import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from gen_jax.metrics import init_stats, mean_cov, merge_stats, update_stats

D = 16
update = jax.jit(update_stats)


def _offset_features(seed, n):
    """1e3 + N(0, 1): Σxxᵀ − nμμᵀ in float32 would lose every digit of the covariance."""
    return (1e3 + np.random.default_rng(seed).normal(size=(n, D))).astype(np.float32)


def _stats_of(x, sizes):
    stats, start = init_stats(D), 0
    for size in sizes:
        stats = update(stats, jnp.asarray(x[start:start + size]))
        start += size
    assert start == len(x)
    return stats


def _rel_err(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def test_streaming_over_uneven_batches_matches_numpy():
    x = _offset_features(0, 1000)
    mu, sigma = mean_cov(_stats_of(x, [7, 64, 1, 128, 300, 500]))
    x64 = x.astype(np.float64)
    assert _rel_err(mu, x64.mean(0)) < 1e-6
    assert _rel_err(sigma, np.cov(x64, rowvar=False)) < 1e-6


def test_merge_is_associative_and_equals_one_pass():
    x = _offset_features(1, 600)
    a, b, c = (_stats_of(x[s], [len(x[s])]) for s in (slice(0, 100), slice(100, 350), slice(350, 600)))
    left, right = merge_stats(merge_stats(a, b), c), merge_stats(a, merge_stats(b, c))
    _, s_left = mean_cov(left)
    _, s_right = mean_cov(right)
    _, s_all = mean_cov(_stats_of(x, [600]))
    assert int(left.n) == int(right.n) == 600
    assert _rel_err(s_left, s_right) < 1e-6 and _rel_err(s_left, s_all) < 1e-6


def test_masked_padded_batch_equals_the_unpadded_one():
    x = _offset_features(2, 50)
    padded = np.concatenate([x, np.full((14, D), 7e3, np.float32)])  # junk rows, masked out
    mask = np.arange(64) < 50
    got = update(init_stats(D), jnp.asarray(padded), jnp.asarray(mask))
    want = _stats_of(x, [50])
    assert int(got.n) == 50
    assert _rel_err(mean_cov(got)[1], mean_cov(want)[1]) < 1e-6


def test_jit_with_batch_sharded_across_devices():
    mesh = Mesh(np.asarray(jax.devices()), ("data",))
    n = 32 * len(jax.devices())
    x = _offset_features(3, n)
    sharded = jax.device_put(jnp.asarray(x), NamedSharding(mesh, P("data")))
    mu, sigma = mean_cov(update(init_stats(D), sharded))
    assert _rel_err(sigma, np.cov(x.astype(np.float64), rowvar=False)) < 1e-6


def test_mean_cov_of_one_sample_is_an_error():
    with pytest.raises(ValueError, match="at least 2 feature vectors; the statistics hold 1"):
        mean_cov(update(init_stats(D), jnp.ones((1, D))))
