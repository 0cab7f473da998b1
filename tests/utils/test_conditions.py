"""Condition maps: Sobel edges fall exactly on the two pixels beside a step, and nowhere else."""

import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.utils.conditions import condition_map, foreground_mask, sobel_edges, sobel_magnitude


def _step(k, size=10, axis=2):
    """-1 before index k along axis (2: columns, 1: rows), +1 from k on: [1, size, size, 1]."""
    idx = jnp.arange(size)
    shape = [1, 1, 1, 1]
    shape[axis] = size
    return jnp.broadcast_to(jnp.where(idx < k, -1.0, 1.0).reshape(shape), (1, size, size, 1))


@pytest.mark.parametrize("axis", [1, 2])
def test_edges_of_a_step_are_exactly_beside_the_step(axis):
    x = _step(4, axis=axis)
    expected = np.zeros((10, 10))
    expected[:, 3:5] = 1  # the columns (rows) k-1 and k
    if axis == 1:
        expected = expected.T
    np.testing.assert_array_equal(sobel_edges(x)[0, :, :, 0], expected)
    # a full black-to-white step has normalised magnitude 1 there
    np.testing.assert_allclose(sobel_magnitude(x)[0, :, :, 0], expected, atol=1e-6)
    # a half-height step (contrast 1) gives 0.5: not above the default threshold
    assert float(sobel_edges(x * 0.5).sum()) == 0.0


def test_constant_image_has_no_edges_and_mask_thresholds_grey():
    assert float(sobel_edges(jnp.full((1, 6, 6, 3), 0.3)).sum()) == 0.0
    x = jnp.array([-1.0, -0.1, 0.1, 1.0]).reshape(1, 1, 4, 1)
    np.testing.assert_array_equal(foreground_mask(x)[0, 0, :, 0], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="unknown condition 'canny'"):
        condition_map("canny", x)
