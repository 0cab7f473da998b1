"""Text-conditioned DDPM and rectified flow: classifier-free guidance with the empty prompt."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.schedules import make_schedule
from gen_jax.diffusion.text_objective import TextDiffusionObjective, drop_captions
from gen_jax.flow.text_objective import TextFlowObjective
from gen_jax.nn.text import TextConditioned, TextEncoder, Tokenizer
from gen_jax.nn.unet import UNet
from gen_jax.train.state import make_optimizer

TOK = Tokenizer(("a", "cat", "dog"), max_len=4)


def _objective(kind):
    model = TextConditioned(UNet(channels=8, channel_mult=(1, 2), num_res_blocks=1,
                                 attention_resolutions=(4,), num_heads=2, cross_attention=True),
                            TextEncoder(TOK.vocab_size, TOK.max_len, width=8, depth=1, num_heads=2))
    tx, lr = make_optimizer(1e-3, 1, None, 0.0)
    common = dict(model=model, image_shape=(8, 8, 1), tx=tx, lr_schedule=lr, cond_drop_prob=0.5,
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
    x = jax.random.normal(jax.random.PRNGKey(2), (2, 8, 8, 1))
    t = jnp.array([7, 12]) if kind == "ddpm" else jnp.array([0.3, 0.8])
    tokens = jnp.asarray(TOK.encode(["a cat", "dog"]))
    if kind == "ddpm":
        g = lambda labels, w: obj.denoiser(params, labels, w)(x, t)[1]  # eps_hat
    else:
        g = lambda labels, w: obj.velocity(params, labels, w)(x, t)
    w = jnp.array([1.0, 0.0, 4.0])  # runtime values: the guided branch is the batched one

    @jax.jit
    def all_cases(w):
        return (g(None, 1.0), *[g(tokens, w[i]) for i in range(3)],
                obj._apply(params, x, t, tokens, None))

    empty, cond, zero, four, direct = all_cases(w)
    assert float(jnp.abs(cond - empty).max()) > 1e-3  # the prompt matters
    np.testing.assert_allclose(cond, direct, atol=1e-5)  # w = 1: the conditional model
    np.testing.assert_allclose(zero, empty, atol=1e-5)  # w = 0: the empty-prompt model
    np.testing.assert_allclose(four, empty + 4.0 * (cond - empty), atol=1e-4)


def test_caption_dropout_replaces_whole_rows_by_the_empty_prompt():
    tokens = jnp.asarray(TOK.encode(["a cat"] * 4000))
    empty = jnp.asarray(TOK.encode(""))[0]
    out = drop_captions(jax.random.PRNGKey(0), tokens, empty, 0.25)
    is_empty = np.all(np.asarray(out) == np.asarray(empty), axis=1)
    is_kept = np.all(np.asarray(out) == np.asarray(tokens), axis=1)
    assert np.all(is_empty | is_kept)
    assert abs(is_empty.mean() - 0.25) < 0.03


@pytest.mark.parametrize("kind", ["ddpm", "rf"])
def test_a_train_step_on_captions_lowers_the_loss_and_samples_follow_the_key(kind):
    obj = _objective(kind)
    state = obj.init(jax.random.PRNGKey(0))
    images = jnp.tile(jnp.linspace(-1, 1, 8)[None, :, None, None], (8, 1, 8, 1))
    batch = {"image": images, "tokens": jnp.asarray(TOK.encode(["a cat", "a dog"] * 4))}
    step = jax.jit(obj.step)
    losses = []
    for _ in range(30):
        state, m = step(state, batch)
        losses.append(float(m["loss"]))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    x = obj.preview(state.params, jax.random.PRNGKey(1), 2)
    assert x.shape == (2, 8, 8, 1) and bool(jnp.all(jnp.isfinite(x)))
