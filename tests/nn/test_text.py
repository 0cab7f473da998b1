"""Tokenizer, text encoder, cross-attention, and the context argument of UNet/DiT."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.dit import DiT
from gen_jax.nn.layers import CrossAttention2D
from gen_jax.nn.text import BOS, PAD, UNK, TextEncoder, Tokenizer, split_words
from gen_jax.nn.unet import UNet


def test_tokenizer_round_trip_padding_and_truncation():
    tok = Tokenizer.fit(["a photo of a cat", "a small dog", "Red-Apple!"], max_len=6)
    assert tok.vocab[0] == "a"  # the most frequent word first
    ids = tok.encode(["a small cat", "", "red apple zebra", "a photo of a small red cat"])
    assert ids.shape == (4, 6) and ids.dtype == np.int32
    np.testing.assert_array_equal(ids[:, 0], BOS)
    np.testing.assert_array_equal(ids[1], [BOS, PAD, PAD, PAD, PAD, PAD])  # the empty prompt
    assert ids[2, 3] == UNK and (ids[2, 4:] == PAD).all()
    assert tok.decode(ids) == ["a small cat", "", "red apple <unk>", "a photo of a small"]
    assert tok.unknown_words("Red zebra, a cat") == ["zebra"]
    assert tok.truncated("a photo of a small red cat") and not tok.truncated("a photo of a cat")
    assert split_words("Grinning Face: medium-dark") == ["grinning", "face", "medium", "dark"]


def test_text_encoder_ignores_padding_beyond_the_caption():
    tok = Tokenizer(("a", "cat", "dog"), max_len=8)
    enc = TextEncoder(tok.vocab_size, 8, width=16, depth=2, num_heads=2)
    short = jnp.asarray(Tokenizer(tok.vocab, 4).encode(["a cat", "dog"]))
    long = jnp.asarray(tok.encode(["a cat", "dog"]))
    params = jax.jit(enc.init)(jax.random.PRNGKey(0), long)
    out_long, out_short = jax.jit(enc.apply)(params, long), jax.jit(enc.apply)(params, short)
    assert out_long.shape == (2, 8, 16)
    # keys at <pad> are masked: the real positions do not see how much padding follows
    np.testing.assert_allclose(out_long[0, :3], out_short[0, :3], atol=1e-5)
    assert float(jnp.abs(out_long[0, 0] - out_long[1, 0]).max()) > 1e-2  # pooled differs by caption


def test_cross_attention_depends_on_context_only_through_its_out_projection():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 8))
    ctx_a = jax.random.normal(jax.random.PRNGKey(1), (2, 5, 6))
    ctx_b = jax.random.normal(jax.random.PRNGKey(2), (2, 5, 6))
    layer = CrossAttention2D(num_heads=2)
    params = jax.jit(layer.init)(jax.random.PRNGKey(3), x, ctx_a)
    apply = jax.jit(layer.apply)
    # zero-initialised out projection: exactly the identity, whatever the prompt
    np.testing.assert_array_equal(apply(params, x, ctx_a), x)
    np.testing.assert_array_equal(apply(params, x, ctx_b), x)
    out = params["params"]["CrossAttention_0"]["MultiHeadDotProductAttention_0"]["out"]
    out["kernel"] = jax.random.normal(jax.random.PRNGKey(4), out["kernel"].shape)
    d = float(jnp.abs(apply(params, x, ctx_a) - apply(params, x, ctx_b)).max())
    assert d > 1e-2


def _perturbed(params, key, scale=0.1):
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(tree, [p + scale * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)])


@pytest.mark.parametrize("net", [
    UNet(channels=4, channel_mult=(1,), num_res_blocks=1, attention_resolutions=(4,), num_heads=1,
         num_classes=3),
    DiT(patch_size=2, hidden_size=8, depth=1, num_heads=2, num_classes=3, frequency_dim=8),
], ids=["unet", "dit"])
def test_context_is_ignored_without_cross_attention_and_changes_output_with_it(net):
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 3))
    t = jnp.array([3, 7])
    labels = jnp.array([0, 2])
    ctx = jax.random.normal(jax.random.PRNGKey(1), (2, 4, 16))
    key = jax.random.PRNGKey(2)
    params = jax.jit(net.init)(key, x, t, labels)
    params = {"params": _perturbed(params["params"], jax.random.PRNGKey(3))}
    # without cross_attention: the same parameters as before, and the context is ignored exactly
    with_ctx = jax.eval_shape(lambda: net.init(key, x, t, labels, context=ctx))
    assert jax.tree.structure(with_ctx) == jax.tree.structure(params)
    apply = jax.jit(lambda p, c: (net.apply(p, x, t, labels), net.apply(p, x, t, labels, context=c)))
    plain, ignored = apply(params, ctx)
    np.testing.assert_array_equal(plain, ignored)
    # with it: new parameters only (the pooled projection, cross-attention), and the output
    # depends on the context
    text_net = net.clone(cross_attention=True)
    tparams = jax.jit(lambda k: text_net.init(k, x, t, labels, context=ctx))(key)["params"]
    new = set(tparams) - set(params["params"])
    assert "context_proj" in new and all(k == "context_proj" or k.startswith("CrossAttention2D") for k in new)
    tparams = {"params": _perturbed(tparams, jax.random.PRNGKey(4))}
    a, b = jax.jit(lambda p: (text_net.apply(p, x, t, labels, context=ctx),
                              text_net.apply(p, x, t, labels, context=ctx[::-1])))(tparams)
    assert float(jnp.abs(a - b).max()) > 1e-3
    with pytest.raises(ValueError, match="needs context"):
        jax.eval_shape(lambda: text_net.apply(tparams, x, t, labels))
