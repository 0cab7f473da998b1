"""The corruption suite of experiments/bench_metrics.py: each corruption does what its name says,
and check_bars reads the bars off the FIDs."""

import jax
import numpy as np
import pytest

from gen_jax.metrics import corruptions as C

KEY = jax.random.PRNGKey(0)


@pytest.fixture(scope="module")
def images():
    # Smooth-ish random images (a blurred random field), so that blur and shift change them.
    x = np.random.default_rng(0).uniform(0, 255, (6, 16, 16, 3))
    return np.clip(x, 0, 255).astype(np.uint8)


def test_every_corruption_keeps_shape_and_uint8(images):
    labels = np.arange(6) % 3
    for family, (_, strengths) in C.SUITE.items():
        if family == "drop":
            continue
        out = C.corrupt(family, strengths[0], images, labels, KEY)
        assert out.shape == images.shape and out.dtype == np.uint8, family


def test_blur_keeps_a_constant_image_and_lowers_the_variance(images):
    const = np.full((1, 8, 8, 1), 77, np.uint8)
    np.testing.assert_array_equal(C.gaussian_blur(const, 1.2), const)
    stds = [C.gaussian_blur(images, s).astype(float).std() for s in (0.5, 0.8, 1.2)]
    assert images.std() > stds[0] > stds[1] > stds[2]


def test_noise_has_the_requested_std_and_follows_the_key():
    x = np.full((4, 32, 32, 1), 128, np.uint8)
    a = C.gaussian_noise(x, 16, KEY)
    assert abs(a.astype(float).std() - 16) < 0.5 and abs(a.astype(float).mean() - 128) < 0.5
    np.testing.assert_array_equal(a, C.gaussian_noise(x, 16, KEY))
    assert not np.array_equal(a, C.gaussian_noise(x, 16, jax.random.PRNGKey(1)))


def test_salt_whitens_about_the_fraction_of_pixels():
    x = np.zeros((4, 50, 50, 3), np.uint8)
    out = C.salt_noise(x, 0.02, KEY)
    hit = (out == 255).all(-1)
    assert abs(hit.mean() - 0.02) < 0.005 and set(np.unique(out)) == {0, 255}


def test_shift_moves_by_one_pixel_and_replicates_the_edge(images):
    out = C.shift(images, 1, 0)
    np.testing.assert_array_equal(out[:, :, 1:], images[:, :, :-1])
    np.testing.assert_array_equal(out[:, :, 0], images[:, :, 0])
    np.testing.assert_array_equal(C.shift(images, 0, -2)[:, :-2], images[:, 2:])


def test_contrast_keeps_the_mean_and_scales_the_spread(images):
    out = C.contrast(images, 0.5).astype(float)
    x = images.astype(float)
    np.testing.assert_allclose(out.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=0.5)
    np.testing.assert_allclose(out.std((1, 2, 3)), 0.5 * x.std((1, 2, 3)), rtol=0.02)


def test_jpeg_round_trip_is_close_but_lossy(images):
    smooth = C.gaussian_blur(images, 2.0)
    out = C.jpeg(smooth, 30)
    err = np.abs(out.astype(float) - smooth).mean()
    assert 0 < err < 10


def test_drop_classes_removes_them_and_keeps_the_count():
    x = np.arange(20, dtype=np.uint8).reshape(20, 1, 1, 1)
    labels = np.arange(20) % 4
    out = C.drop_classes(x, labels, [0, 1], 8, KEY)
    assert len(out) == 8 and len(np.unique(out)) == 8
    assert set(labels[out[:, 0, 0, 0]]) <= {2, 3}
    with pytest.raises(ValueError, match=r"10 images left after removing classes \[0, 1\]; asked for 11"):
        C.drop_classes(x, labels, [0, 1], 11, KEY)


def test_wrong_input_is_named():
    with pytest.raises(ValueError, match=r"expected images \[N, H, W, C\] uint8, found float32"):
        C.gaussian_blur(np.zeros((1, 4, 4, 1), np.float32), 1.0)
    with pytest.raises(ValueError, match="unknown corruption family 'fog'"):
        C.corrupt("fog", 1, np.zeros((1, 4, 4, 1), np.uint8), None, KEY)


def test_check_bars_reads_ratios_and_monotonicity():
    fid = {("blur", 0.5): 5.0, ("blur", 0.8): 20.0, ("blur", 1.2): 50.0,
           ("noise", 8): 2.5, ("noise", 16): 2.9, ("noise", 32): 2.8, ("shift", 1): 3.9}
    bars = C.check_bars(2.0, fid)
    assert bars["blur_0.8_ratio"] == 10.0 and bars["blur_0.8_pass"]
    assert bars["noise_16_ratio"] == 1.45 and not bars["noise_16_pass"]
    assert bars["shift_1_ratio"] == 1.95 and bars["shift_1_pass"]
    assert bars["monotone_blur"] and not bars["monotone_noise"] and "monotone_shift" not in bars
