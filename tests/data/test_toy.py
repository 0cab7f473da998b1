import numpy as np
import pytest

from gen_jax.data import TOY_SETS, toy_2d


@pytest.mark.parametrize("name", TOY_SETS)
def test_shape_dtype_and_seed_determinism(name):
    x = toy_2d(name, 500, seed=1)
    assert x.shape == (500, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x, toy_2d(name, 500, seed=1))
    assert not np.array_equal(x, toy_2d(name, 500, seed=2))
    assert np.abs(x).max() < 4.5


def test_8gaussians_are_std_0354_blobs_on_the_radius_2sqrt2_circle():
    x = toy_2d("8gaussians", 20_000)
    angles = np.arange(8) * np.pi / 4
    means = 2 * np.sqrt(2) * np.stack([np.cos(angles), np.sin(angles)], 1)
    nearest = np.argmin(((x[:, None] - means) ** 2).sum(-1), 1)
    resid = x - means[nearest]
    np.testing.assert_allclose(resid.std(0), 0.5 / np.sqrt(2), rtol=0.03)
    np.testing.assert_allclose(np.bincount(nearest) / len(x), 1 / 8, atol=0.01)


def test_checkerboard_is_uniform_on_the_8_dark_squares():
    x = toy_2d("checkerboard", 16_000)
    cells = np.floor(x / 2).astype(int)  # 2×2 squares, indices -2..1
    assert np.all((cells.sum(1) % 2) == 0)
    counts = np.bincount((cells[:, 0] + 2) * 4 + cells[:, 1] + 2, minlength=16)
    assert (counts > 0).sum() == 8
    np.testing.assert_allclose(counts[counts > 0] / len(x), 1 / 8, atol=0.01)


def test_moons_are_centred_and_unknown_name_lists_the_sets():
    np.testing.assert_allclose(toy_2d("moons", 10_000).mean(0), 0.0, atol=0.03)
    with pytest.raises(ValueError, match="8gaussians"):
        toy_2d("spirals", 10)
