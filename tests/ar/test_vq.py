"""VQ-VAE pieces: the straight-through estimator, the EMA codebook update against a NumPy
reference, dead-code restart, usage/perplexity, and a few tokenizer steps."""

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.nn.vq import (code_usage, ema_codebook_update, init_codebook_state, nearest_code,
                           quantize, restart_dead_codes)


def test_straight_through_passes_the_decoders_gradient_to_the_encoder_unchanged():
    codebook = jax.random.normal(jax.random.PRNGKey(0), (5, 3))
    z_e = jax.random.normal(jax.random.PRNGKey(1), (4, 3))
    w = jax.random.normal(jax.random.PRNGKey(2), (4, 3))
    decoder_loss = lambda z: jnp.sum(jnp.sin(z) * w)  # noqa: E731
    z_q, codes = quantize(z_e, codebook)
    # forward: the codes (z_e + (e - z_e) rounds to within an ulp of e)
    np.testing.assert_allclose(z_q, codebook[codes], rtol=0, atol=1e-6)
    g_enc = jax.grad(lambda z: decoder_loss(quantize(z, codebook)[0]))(z_e)
    g_dec = jax.grad(decoder_loss)(z_q)                           # ∂L/∂z_q at the decoder's input
    np.testing.assert_array_equal(g_enc, g_dec)


def test_nearest_code_matches_brute_force():
    rng = np.random.default_rng(0)
    z, cb = rng.normal(size=(20, 4)).astype(np.float32), rng.normal(size=(7, 4)).astype(np.float32)
    ref = np.argmin(((z[:, None] - cb[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest_code(jnp.asarray(z), jnp.asarray(cb)), ref)


def _numpy_ema(codebook, cluster, embed_sum, z, codes, decay, eps):
    """The paper's appendix A.1 update written with loops."""
    k = len(codebook)
    cluster, embed_sum = cluster.copy(), embed_sum.copy()
    for i in range(k):
        members = z[codes == i]
        cluster[i] = decay * cluster[i] + (1 - decay) * len(members)
        embed_sum[i] = decay * embed_sum[i] + (1 - decay) * members.sum(0)
    n = cluster.sum()
    smoothed = (cluster + eps) / (n + k * eps) * n
    return embed_sum / smoothed[:, None], cluster, embed_sum


def test_ema_codebook_update_matches_a_numpy_reference():
    rng = np.random.default_rng(1)
    k, d = 4, 2
    vq = {"codebook": rng.normal(size=(k, d)), "cluster_size": rng.uniform(0.5, 2, k),
          "embed_sum": rng.normal(size=(k, d))}
    z = rng.normal(size=(9, d))
    codes = np.array([0, 0, 1, 3, 3, 3, 0, 1, 0])  # code 2 unused: only decays
    ref = _numpy_ema(vq["codebook"], vq["cluster_size"], vq["embed_sum"], z, codes, 0.9, 1e-5)
    out = ema_codebook_update(jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), vq),
                              jnp.asarray(z, jnp.float32), jnp.asarray(codes), 0.9, 1e-5)
    for name, r in zip(("codebook", "cluster_size", "embed_sum"), ref):
        np.testing.assert_allclose(out[name], r, rtol=1e-5, atol=1e-6, err_msg=name)
    # with decay 0 and no smoothing each code is the mean of its members
    out0 = ema_codebook_update(out, jnp.asarray(z, jnp.float32), jnp.asarray(codes), 0.0, 0.0)
    np.testing.assert_allclose(out0["codebook"][3], z[codes == 3].mean(0), rtol=1e-5)


def test_dead_codes_restart_at_batch_vectors_and_usage_perplexity():
    vq = init_codebook_state(jax.random.PRNGKey(0), 4, 2)
    vq["cluster_size"] = jnp.array([5.0, 0.001, 2.0, 0.0])
    z = jnp.arange(10.0).reshape(5, 2) + 100.0
    new, n = restart_dead_codes(vq, z, jax.random.PRNGKey(1), 0.01)
    assert int(n) == 2
    rows = {tuple(r) for r in np.asarray(z)}
    assert tuple(np.asarray(new["codebook"][1])) in rows and tuple(np.asarray(new["codebook"][3])) in rows
    np.testing.assert_array_equal(new["codebook"][0], vq["codebook"][0])
    np.testing.assert_array_equal(new["cluster_size"], [5.0, 1.0, 2.0, 1.0])
    usage, ppl = code_usage(jnp.array([0, 1, 2, 3]), 8)
    np.testing.assert_allclose([usage, ppl], [0.5, 4.0], rtol=1e-6)
    np.testing.assert_allclose(code_usage(jnp.zeros(6, jnp.int32), 8)[1], 1.0, rtol=1e-6)
