import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.classifier import PRESETS, Classifier

TINY = dict(num_classes=5, channels=(4, 8), feature_dim=6)


@pytest.mark.parametrize("shape", [(3, 28, 28, 1), (3, 32, 32, 3)])
def test_logits_and_features_shapes(shape):
    m = Classifier(**TINY, convs_per_stage=2)
    x = jax.ShapeDtypeStruct(shape, jnp.float32)
    params = jax.eval_shape(m.init, jax.random.PRNGKey(1), x)
    logits = jax.eval_shape(m.apply, params, x)
    feats = jax.eval_shape(lambda p, x: m.apply(p, x, method="features"), params, x)
    chex.assert_shape([logits, feats], [(3, 5), (3, 6)])
    assert logits.dtype == feats.dtype == jnp.float32


def test_logits_are_the_linear_head_of_the_features():
    m = Classifier(**TINY)
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 8, 8, 1))
    params = jax.jit(m.init)(jax.random.PRNGKey(1), x)
    head = params["params"]["head"]
    feats = jax.jit(lambda p, x: m.apply(p, x, method="features"))(params, x)
    np.testing.assert_allclose(jax.jit(m.apply)(params, x), feats @ head["kernel"] + head["bias"],
                               atol=1e-5)


def test_dropout_only_in_training_and_keyed():
    m = Classifier(**TINY, dropout=0.5)
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 8, 8, 1))
    params = jax.jit(m.init)(jax.random.PRNGKey(1), x)
    apply = jax.jit(m.apply, static_argnames="train")
    train = jax.jit(lambda p, x, k: m.apply(p, x, train=True, rngs={"dropout": k}))
    np.testing.assert_array_equal(apply(params, x), apply(params, x, train=False))
    a, b = train(params, x, jax.random.PRNGKey(2)), train(params, x, jax.random.PRNGKey(2))
    c = train(params, x, jax.random.PRNGKey(3))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, apply(params, x))


@pytest.mark.parametrize("dataset,shape", [("mnist", (28, 28, 1)), ("fashion_mnist", (28, 28, 1)),
                                           ("cifar10", (32, 32, 3))])
def test_presets_fit_the_2mb_float32_weights_budget(dataset, shape):
    m = PRESETS[dataset](num_classes=10)
    params = jax.eval_shape(m.init, jax.random.PRNGKey(0), jnp.zeros((1, *shape)))
    assert 4 * sum(p.size for p in jax.tree.leaves(params)) <= 2_000_000
