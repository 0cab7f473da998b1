"""Text-conditioned DDPM and rectified flow: classifier-free guidance with the empty prompt."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.schedules import make_schedule
from gen_jax.conditioning import TextTokens
from gen_jax.diffusion.text_objective import TextDiffusionObjective
from gen_jax.flow.text_objective import TextFlowObjective
from gen_jax.nn.text import TextConditioned, TextEncoder, Tokenizer
from gen_jax.nn.dit import DiT
from gen_jax.train.state import make_optimizer

TOK = Tokenizer(("a", "cat", "dog"), max_len=4)


def _objective(kind):
    # a one-block DiT keeps compilation short; the U-Net's cross-attention is tested in tests/nn
    model = TextConditioned(DiT(patch_size=2, hidden_size=8, depth=1, num_heads=2, frequency_dim=8,
                                cross_attention=True),
                            TextEncoder(TOK.vocab_size, TOK.max_len, width=8, depth=1, num_heads=2))
    tx, lr = make_optimizer(1e-2, 1, None, 0.0)
    common = dict(model=model, image_shape=(4, 4, 1), tx=tx, lr_schedule=lr, cond_drop_prob=0.5,
                  tokenizer=TOK, preview_prompts=("a cat",))
    if kind == "ddpm":
        return TextDiffusionObjective(schedule=make_schedule("linear", 20), **common)
    return TextFlowObjective(**common)


def _perturbed(params, key, scale=0.1):
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(tree, [p + scale * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)])


@pytest.mark.parametrize("kind", ["ddpm", "rf"])
def test_guidance_zero_is_the_empty_prompt_one_the_prompt_and_w_extrapolates(kind):
    obj = _objective(kind)
    params = _perturbed(obj.init(jax.random.PRNGKey(0)).params, jax.random.PRNGKey(1))
    x = jax.random.normal(jax.random.PRNGKey(2), (2, 4, 4, 1))
    t = jnp.array([7, 12]) if kind == "ddpm" else jnp.array([0.3, 0.8])
    tokens = jnp.asarray(TOK.encode(["a cat", "dog"]))
    if kind == "ddpm":
        g = lambda labels, w: obj.denoiser(params, labels, w)(x, t)[1]  # eps_hat
    else:
        g = lambda labels, w: obj.velocity(params, labels, w)(x, t)
    f = jax.jit(g)  # w is a runtime value: one compilation serves every scale
    empty = f(obj.empty_tokens(2), 1.0)
    cond, zero, four = f(tokens, 1.0), f(tokens, 0.0), f(tokens, 4.0)
    direct = jax.jit(lambda: obj._apply(params, x, t, tokens, None))()
    assert float(jnp.abs(cond - empty).max()) > 1e-3  # the prompt matters
    np.testing.assert_allclose(cond, direct, atol=1e-5)  # w = 1: the conditional model
    np.testing.assert_allclose(zero, empty, atol=1e-5)  # w = 0: the empty-prompt model
    np.testing.assert_allclose(four, empty + 4.0 * (cond - empty), atol=1e-4)


def test_caption_dropout_replaces_whole_rows_by_the_empty_prompt():
    tokens = jnp.asarray(TOK.encode(["a cat"] * 4000))
    empty = jnp.asarray(TOK.encode(""))[0]
    out = TextTokens(TOK).drop(jax.random.PRNGKey(0), tokens, 0.25)
    is_empty = np.all(np.asarray(out) == np.asarray(empty), axis=1)
    is_kept = np.all(np.asarray(out) == np.asarray(tokens), axis=1)
    assert np.all(is_empty | is_kept)
    assert abs(is_empty.mean() - 0.25) < 0.03


@pytest.mark.parametrize("kind", ["ddpm", "rf"])
def test_train_steps_on_captions_lower_the_loss_and_the_preview_is_finite(kind):
    obj = _objective(kind)
    state = obj.init(jax.random.PRNGKey(0))
    images = jnp.tile(jnp.linspace(-1, 1, 4)[None, :, None, None], (8, 1, 4, 1))
    batch = {"image": images, "tokens": jnp.asarray(TOK.encode(["a cat", "a dog"] * 4))}
    step = jax.jit(obj.step)
    losses = []
    for _ in range(20):
        state, m = step(state, batch)
        losses.append(float(m["loss"]))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    x = obj.preview(state.params, jax.random.PRNGKey(1), 2)
    assert x.shape == (2, 4, 4, 1) and bool(jnp.all(jnp.isfinite(x)))
