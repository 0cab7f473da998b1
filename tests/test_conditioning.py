"""gen_jax.conditioning: the dropout rate, and classifier-free guidance on a toy network (w = 0 the
null condition, 1 the condition, w extrapolates, negative labels replace the null)."""

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.conditioning import UNCONDITIONAL, ClassLabels, TextTokens, class_labels
from gen_jax.nn.text import Tokenizer


def test_label_dropout_replaces_a_fraction_prob_by_the_null_class():
    labels = jnp.arange(20000) % 10
    out = np.asarray(ClassLabels(10).drop(jax.random.PRNGKey(0), labels, 0.3))
    dropped = out == 10
    assert np.all(dropped | (out == np.asarray(labels)))
    assert abs(dropped.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(ClassLabels(10).drop(jax.random.PRNGKey(0), labels, 0.0), labels)


def test_caption_dropout_replaces_whole_rows_by_the_empty_prompt():
    tok = Tokenizer(("a", "cat"), max_len=4)
    tokens = jnp.asarray(tok.encode(["a cat"] * 4000))
    out = np.asarray(TextTokens(tok).drop(jax.random.PRNGKey(1), tokens, 0.25))
    empty = np.all(out == np.asarray(tok.encode(""))[0], axis=1)
    assert np.all(empty | np.all(out == np.asarray(tokens), axis=1))
    assert abs(empty.mean() - 0.25) < 0.03


def _toy(x, t, c):
    """A network whose output tells the condition: x·(1 + c) + t."""
    return x * (1.0 + c.astype(jnp.float32))[:, None] + t[:, None]


def test_guidance_zero_is_unconditional_one_conditional_and_w_extrapolates():
    c = ClassLabels(3)
    x, t, y = jnp.ones((2, 4)), jnp.array([0.5, 0.2]), jnp.array([0, 2])
    uncond, cond = _toy(x, t, c.null(2)), _toy(x, t, y)
    f = jax.jit(lambda w: c.guided(_toy, y, w)(x, t))
    np.testing.assert_allclose(f(0.0), uncond, atol=1e-6)
    np.testing.assert_allclose(f(1.0), cond, atol=1e-6)
    np.testing.assert_allclose(f(3.0), uncond + 3.0 * (cond - uncond), atol=1e-5)
    neg = jnp.array([1, 1])
    np.testing.assert_allclose(c.guided(_toy, y, 0.0, neg)(x, t), _toy(x, t, neg), atol=1e-6)


def test_no_condition_calls_the_network_with_none():
    seen = []
    apply = lambda x, t, c: seen.append(c) or x  # noqa: E731
    for conditioner in (UNCONDITIONAL, class_labels(None), ClassLabels(3)):
        conditioner.guided(apply, None, 2.0)(jnp.ones((2, 4)), jnp.zeros(2))
    assert seen == [None, None, None]
    assert class_labels(0) is UNCONDITIONAL and UNCONDITIONAL.drop(None, jnp.ones(3), 0.5) is None
