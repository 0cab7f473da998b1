"""data/moving_mnist.py: deterministic clips of digits bouncing inside the canvas."""

import numpy as np

from gen_jax.data import load_dataset
from gen_jax.data.moving_mnist import MOVING_MNIST_PRESETS, generate


def _digits(n=20):
    rng = np.random.default_rng(0)
    return (rng.uniform(0, 1, (n, 28, 28)) > 0.7).astype(np.uint8) * 255, rng.integers(0, 10, n)


def test_clips_are_deterministic_per_index_and_digits_stay_inside():
    digits, labels = _digits()
    spec = MOVING_MNIST_PRESETS["standard"]
    a, la, ca, corners = generate(digits, labels, 6, seed=3, spec=spec)
    b, lb, _, _ = generate(digits, labels, 3, seed=3, spec=spec)
    np.testing.assert_array_equal(a[:3], b)  # clip i depends only on (seed, i)
    np.testing.assert_array_equal(la[:3], lb)
    assert a.shape == (6, 16, 64, 64, 1) and a.min() >= -1 and a.max() <= 1
    assert corners.min() >= 0 and corners.max() <= 64 - 28
    np.testing.assert_array_equal(la, ca[:, 0] * 10 + ca[:, 1])  # two digits: class 10·a + b
    steps = np.abs(np.diff(corners, axis=2))
    assert steps.max() <= 4 and steps.sum() > 0  # |v| <= max_speed (3), rounded; they move
    c, _, _, _ = generate(digits, labels, 3, seed=4, spec=spec)
    assert not np.array_equal(a[:3], c)


def test_moving_digits_is_embedded_and_labelled_by_the_digit():
    ds = load_dataset("moving_digits", None, "test")
    assert ds.images.shape == (200, 4, 16, 16, 1) and ds.num_classes == 10
    ref = load_dataset("digits", None, "test")
    assert set(np.unique(ds.labels)) <= set(np.unique(ref.labels))
