"""metrics/restoration.py: PSNR, SSIM and consistency on known values."""

import jax.numpy as jnp
import numpy as np

from gen_jax.data.lowres import upsample
from gen_jax.metrics.restoration import consistency_mse, psnr, ssim


def test_psnr_of_a_constant_offset():
    x = jnp.zeros((2, 8, 8, 1))
    np.testing.assert_allclose(psnr(x, x + 0.1), 10 * np.log10(4 / 0.01), rtol=1e-5)


def test_ssim_of_constant_images_is_the_luminance_term_and_of_equal_images_one():
    a, b = 0.2, -0.4
    x, y = jnp.full((1, 9, 9, 1), a), jnp.full((1, 9, 9, 1), b)
    c1 = (0.01 * 2) ** 2
    np.testing.assert_allclose(ssim(x, y), (2 * a * b + c1) / (a * a + b * b + c1), rtol=1e-4)
    z = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)), jnp.float32)
    np.testing.assert_allclose(ssim(z, z), 1.0, atol=1e-5)
    noisy = z + 0.3 * jnp.asarray(np.random.default_rng(1).normal(size=z.shape), jnp.float32)
    assert float(ssim(z, noisy).max()) < 0.9


def test_consistency_is_zero_for_nearest_upsampling_and_not_for_a_shift():
    z = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 1)), jnp.float32)
    np.testing.assert_allclose(consistency_mse(upsample(z, 16, "nearest"), z), 0.0, atol=1e-12)
    assert float(consistency_mse(upsample(z, 16, "nearest") + 0.1, z).min()) > 0.009
