"""DiffAugment: the empty policy is the identity, translation is a pure shift, cutout zeroes one
square of half the size, gradients reach the input through every augmentation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.gan import augment

X = jax.random.uniform(jax.random.PRNGKey(0), (4, 16, 16, 3), minval=-1, maxval=1)


def test_empty_policy_is_the_identity():
    assert augment.diff_augment(X, jax.random.PRNGKey(1), "") is X


def test_shift_moves_a_pixel_and_pads_with_zeros():
    x = jnp.zeros((2, 8, 8, 1)).at[:, 3, 4, 0].set(1.0)
    out = augment.shift(x, jnp.array([1, -2]), jnp.array([-1, 3]))
    # out[b, i, j] = x[b, i + dy, j + dx]: the pixel at (3, 4) lands at (3 - dy, 4 - dx)
    assert float(out[0, 2, 5, 0]) == 1.0 and float(out[1, 5, 1, 0]) == 1.0
    assert float(out.sum()) == 2.0
    np.testing.assert_array_equal(augment.shift(jnp.ones((1, 4, 4, 1)), jnp.array([3]), jnp.array([0]))[0, :, 0, 0],
                                  [1, 0, 0, 0])


def test_translation_is_a_pure_shift_of_at_most_an_eighth():
    out = augment.translation(X, jax.random.PRNGKey(2))
    for b in range(X.shape[0]):
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                if np.allclose(out[b], augment.shift(X[b:b + 1], jnp.array([dy]), jnp.array([dx]))[0])]
        assert len(hits) == 1


def test_cutout_zeroes_a_square_of_half_the_size_at_most():
    out = augment.cutout(jnp.ones((64, 16, 16, 1)), jax.random.PRNGKey(3))
    zeros = np.asarray((out == 0).sum(axis=(1, 2, 3)))
    assert zeros.max() == 64 and zeros.min() > 0  # 8×8 inside the image, clipped at borders


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_gradients_flow_through_the_augmentation(policy):
    key = jax.random.PRNGKey(4)
    g = jax.grad(lambda x: jnp.sum(augment.diff_augment(x, key, policy) ** 2))(X)
    assert float(jnp.abs(g).sum()) > 0 and bool(jnp.all(jnp.isfinite(g)))
    if policy == "translation":  # a shift's gradient is 2x where the pixel is still in view, else 0
        out = augment.diff_augment(X, key, policy)
        assert np.isclose(float(jnp.sum(g * X)), 2 * float(jnp.sum(out ** 2)), rtol=1e-5)


def test_unknown_augmentation_is_named():
    with pytest.raises(ValueError, match="'flip'"):
        augment.parse_policy("color,flip")
