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


def test_bench_ldm_cost_only_needs_no_workdir_and_counts_n_calls_per_sampler(tmp_path):
    """bench_ldm --cost_only on the smoke configs (fresh weights): the unrolled sampler costs its
    network calls (FLOPs = steps x one call, within XLA's bookkeeping of the update arithmetic),
    latent calls cost less than pixel ones, and the Markdown names both spaces."""
    import subprocess
    import sys

    from experiments import ldm_cost as bench_ldm

    res = bench_ldm.fresh_cost(batch=2, flops_steps=2, steps=3, repeats=1, variant="smoke")
    for space in ("pixel", "latent"):
        r = res[space]
        np.testing.assert_allclose(r["sampler_flops"], 2 * r["call_flops"], rtol=0.05)
        assert r["call_s"] > 0 and r["sampler_s"] > 0
    assert res["latent"]["decoder_flops"] > 0 and res["pixel"]["decoder_flops"] == 0
    assert res["latent"]["call_flops"] < res["pixel"]["call_flops"]
    md = bench_ldm.cost_markdown(res)
    assert "| pixel | 8x8x1 |" in md and "| latent | 2x2x4 |" in md
    assert "freshly initialised" in md

    # the CLI path refuses a missing workdir with a message naming both ways in
    out = subprocess.run([sys.executable, "-m", "experiments.bench_ldm", f"--out_dir={tmp_path}"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "--ldm_workdir is required (or --cost_only)" in out.stderr
