"""AutoencoderKL import/export against diffusers (torch CPU, test-only), with
stabilityai/sd-vae-ft-mse's block structure at a tiny width (SD's: 128, 256, 512, 512; 2 res
blocks per level; mid attention; quant convs)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from gen_jax.interop import load_diffusers, save_diffusers  # noqa: E402
from gen_jax.nn.autoencoder import AutoencoderKL  # noqa: E402

SIZE = 8


def test_autoencoder_kl_matches_diffusers_and_roundtrips(tmp_path):
    torch.manual_seed(0)
    m = diffusers.AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                                up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(32, 64),
                                layers_per_block=2, latent_channels=4, norm_num_groups=32,
                                sample_size=SIZE).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0.0, 0.05)
    src = str(tmp_path / "vae")
    m.save_pretrained(src)
    model, params, info = load_diffusers(src)
    assert info["config"]["scaling_factor"] == 0.18215
    x = np.random.RandomState(0).randn(2, SIZE, SIZE, 3).astype(np.float32)
    z = np.random.RandomState(1).randn(2, SIZE // 2, SIZE // 2, 4).astype(np.float32)
    with torch.no_grad():
        dist = m.encode(torch.from_numpy(x.transpose(0, 3, 1, 2))).latent_dist
        ref_mean, ref_logvar = (a.numpy().transpose(0, 2, 3, 1) for a in (dist.mean, dist.logvar))
        ref_x = m.decode(torch.from_numpy(z.transpose(0, 3, 1, 2))).sample.numpy().transpose(0, 2, 3, 1)
    enc = jax.jit(lambda p, x: model.apply({"params": p}, x))
    dec = jax.jit(lambda p, z: model.apply({"params": p}, z, method=AutoencoderKL.decode))
    mean, logvar = enc(params, jnp.asarray(x))
    x_hat = dec(params, jnp.asarray(z))
    for what, ours, ref in (("mean", mean, ref_mean), ("logvar", logvar, ref_logvar), ("decode", x_hat, ref_x)):
        rel = np.abs(np.asarray(ours) - ref).max() / np.abs(ref).max()
        print(f"AutoencoderKL {what}: max |gen_jax - diffusers| / max |diffusers| = {rel:.2e}")
        assert rel < 1e-5, rel

    out = str(tmp_path / "export")
    save_diffusers(out, model, params, info["image_shape"])
    _, params2, _ = load_diffusers(out)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(params2)))
    sd1, sd2 = m.state_dict(), diffusers.AutoencoderKL.from_pretrained(out).state_dict()
    assert set(sd1) == set(sd2) and all(torch.equal(sd1[k], sd2[k]) for k in sd1)
