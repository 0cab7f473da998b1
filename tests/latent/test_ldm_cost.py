"""The measures of the latent-diffusion benchmark: XLA FLOP counts and PSNR."""

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.metrics.reconstruction import psnr
from gen_jax.utils.cost import xla_flops
from gen_jax.nn.unet import UNet


def test_latent_denoiser_flops_are_below_the_pixel_ones_for_the_same_unet():
    net = UNet(channels=8, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(), num_heads=1)

    def flops(shape):
        x, t = jnp.zeros((2, *shape)), jnp.zeros((2,), jnp.int32)
        params = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), x, t))
        params = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), params)
        return xla_flops(lambda p, x, t: net.apply(p, x, t), params, x, t)

    pixel, latent = flops((16, 16, 3)), flops((4, 4, 4))  # a x4 autoencoder's latents
    assert 0 < latent < 0.2 * pixel, (latent, pixel)  # 16x fewer positions; convs dominate


def test_psnr_of_a_one_level_error_is_48_13_db():
    a = np.full((2, 4, 4, 3), 100, np.uint8)
    np.testing.assert_allclose(psnr(a, a + 1), 10 * np.log10(255.0 ** 2), rtol=1e-12)  # 48.13 dB
