"""Token decoders: logit filtering by value, the scan decoders against their debug loops, and
MaskGIT's schedule."""

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.ar.sampling import (filter_logits, maskgit_decode, num_masked_schedule, raster_decode,
                                 sample_tokens, training_mask)

K, L = 5, 7


def test_filter_logits_top_k_top_p_and_temperature():
    logits = jnp.log(jnp.array([[0.5, 0.25, 0.15, 0.1]]))
    keep = lambda **kw: np.isfinite(np.asarray(filter_logits(logits, **kw)))[0].tolist()  # noqa: E731
    assert keep(temperature=1.0, top_k=0, top_p=1.0) == [True] * 4
    assert keep(temperature=1.0, top_k=2, top_p=1.0) == [True, True, False, False]
    # nucleus: 0.5 < 0.7, 0.75 >= 0.7 -> the first two
    assert keep(temperature=1.0, top_k=0, top_p=0.7) == [True, True, False, False]
    assert keep(temperature=1.0, top_k=0, top_p=0.4) == [True, False, False, False]
    assert keep(temperature=1.0, top_k=3, top_p=0.9) == [True, True, True, False]
    np.testing.assert_allclose(filter_logits(logits, 0.5, 0, 1.0), 2 * logits, rtol=1e-6)


def test_sample_tokens_greedy_and_top_k_one_pick_the_argmax():
    logits = jax.random.normal(jax.random.PRNGKey(0), (16, K))
    keys = jax.random.split(jax.random.PRNGKey(1), 16)
    top = np.argmax(np.asarray(logits), -1)
    np.testing.assert_array_equal(sample_tokens(keys, logits, 0.0, 0, 1.0), top)
    np.testing.assert_array_equal(sample_tokens(keys, logits, 1.0, 1, 1.0), top)


def _toy_step(prev, pos, cache):
    """A deterministic stand-in for a cached decoder: logits depend on the previous token, the
    position and a running sum kept in the 'cache'."""
    logits = jnp.sin(jnp.arange(K)[None] * (prev[:, None] + 1.0) + pos + cache[:, None])
    return 3.0 * logits, cache + prev


def test_raster_scan_equals_its_debug_loop_and_does_not_depend_on_the_batch():
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    args = dict(temperature=0.8, top_k=3, top_p=0.9)
    scan = jax.jit(lambda k: raster_decode(_toy_step, jnp.zeros(4), k, L, **args))(keys)
    loop = raster_decode(_toy_step, jnp.zeros(4), keys, L, debug=True, **args)
    np.testing.assert_array_equal(scan, loop)
    assert scan.shape == (4, L) and len({tuple(r) for r in np.asarray(scan)}) > 1
    two = raster_decode(_toy_step, jnp.zeros(2), keys[2:], L, **args)
    np.testing.assert_array_equal(two, scan[2:])


def _toy_logits(tokens):
    """Position-dependent logits that also see the number of filled positions."""
    filled = jnp.sum(tokens != K, axis=-1, keepdims=True)[..., None]
    return jnp.cos(jnp.arange(K) * (jnp.arange(L)[:, None] + 1.0) + 0.1 * filled) * 2.0


def test_maskgit_scan_equals_its_debug_loop_and_fills_every_position():
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    scan = maskgit_decode(_toy_logits, keys, L, K, 3, 1.0, 0, 0.95)
    loop = maskgit_decode(_toy_logits, keys, L, K, 3, 1.0, 0, 0.95, debug=True)
    np.testing.assert_array_equal(scan, loop)
    for out in (scan, maskgit_decode(_toy_logits, keys, L, K, 1)):  # no mask id left
        assert np.all((np.asarray(out) >= 0) & (np.asarray(out) < K))


def test_maskgit_schedule_and_training_mask():
    assert num_masked_schedule(16, 4) == [14, 11, 6, 0]
    assert num_masked_schedule(4, 8) == [3, 2, 1, 0, 0, 0, 0, 0]  # at least one new token per step
    m = np.asarray(training_mask(jax.random.PRNGKey(0), 512, 16))
    assert m.sum(1).min() >= 1 and m.sum(1).max() == 16
    # E[cos(πr/2)] = 2/π of the positions are masked on average (ceil adds < 1 position)
    assert 2 / np.pi * 16 <= m.sum(1).mean() <= 2 / np.pi * 16 + 1.2
