"""The token transformer: KV-cache decoding against full recomputation, the causal mask, and
the bidirectional variant's mask token."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.transformer import TokenTransformer

L, K = 6, 11


@pytest.fixture(scope="module")
def causal():
    m = TokenTransformer(vocab_size=K, seq_len=L, num_classes=3, width=16, depth=2, num_heads=2)
    toks = jax.random.randint(jax.random.PRNGKey(0), (2, L), 0, K)
    params = jax.jit(m.init)(jax.random.PRNGKey(1), toks)["params"]
    return m, params, toks


def _cached_logits(m, params, toks, labels):
    """Logits of every position by teacher-forced KV-cache decoding (one position per call)."""
    cache, prev, out = m.init_cache(toks.shape[0]), jnp.zeros((toks.shape[0],), jnp.int32), []
    step = jax.jit(lambda p, c, pos: m.apply({"params": params}, p, labels, pos, c,
                                             method=TokenTransformer.decode_step))
    for pos in range(L):
        logits, cache = step(prev, cache, jnp.int32(pos))
        out.append(logits)
        prev = toks[:, pos]
    return jnp.stack(out, axis=1)


def test_kv_cache_decoding_equals_full_recomputation(causal):
    m, params, toks = causal
    labels = jnp.array([2, 3])  # a class and the null class
    apply = jax.jit(lambda t: m.apply({"params": params}, t, labels))
    full = apply(toks)
    cached = _cached_logits(m, params, toks, labels)
    # float32; not bitwise: XLA's CPU matmuls sum a [1, W] row and an [L, W] block in different
    # orders (observed differences ~1e-6)
    np.testing.assert_allclose(cached, full, rtol=1e-5, atol=1e-5)
    # greedy decoding through the cache picks exactly the tokens that recomputing the whole prefix
    # at every position picks
    t = jnp.zeros((2, L), jnp.int32)
    for pos in range(L):
        t = t.at[:, pos].set(jnp.argmax(apply(t)[:, pos], -1))
    cache_tokens = _cached_greedy(m, params, labels)
    np.testing.assert_array_equal(cache_tokens, t)


def _cached_greedy(m, params, labels):
    from gen_jax.ar.sampling import raster_decode

    step = lambda prev, pos, cache: m.apply({"params": params}, prev, labels, pos, cache,  # noqa: E731
                                            method=TokenTransformer.decode_step)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    return raster_decode(step, m.init_cache(2), keys, L, temperature=0.0)


def test_causal_mask_changing_token_j_leaves_earlier_logits_unchanged(causal):
    m, params, toks = causal
    j = 3
    changed = toks.at[:, j].set((toks[:, j] + 1) % K)
    apply = jax.jit(lambda t: m.apply({"params": params}, t))
    a, b = apply(toks), apply(changed)
    # position i predicts token i from tokens < i: positions <= j do not see token j
    np.testing.assert_array_equal(a[:, : j + 1], b[:, : j + 1])
    assert np.abs(np.asarray(a[:, j + 1:] - b[:, j + 1:])).max() > 1e-4


def test_bidirectional_variant_sees_every_position_and_has_a_mask_token():
    m = TokenTransformer(vocab_size=K, seq_len=L, width=16, depth=1, num_heads=2, causal=False)
    toks = jnp.full((1, L), m.mask_id)
    params = jax.jit(m.init)(jax.random.PRNGKey(0), toks)["params"]
    apply = jax.jit(lambda t: m.apply({"params": params}, t))
    a, b = apply(toks), apply(toks.at[:, L - 1].set(0))
    assert a.shape == (1, L, K)
    assert np.abs(np.asarray(a[:, 0] - b[:, 0])).max() > 1e-5  # position 0 sees the last token
