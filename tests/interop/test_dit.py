"""DiTTransformer2DModel import/export against diffusers (torch CPU, test-only), with
facebook/DiT-XL-2-256's structure (class-conditional with a null class, learned sigma: 8 output
channels for 4 latent ones, patch 2, per-block copies of one timestep/class embedding) at a
tiny width and depth."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from gen_jax.interop import InteropError, load_diffusers, save_diffusers  # noqa: E402


def _tie_embeddings(m):
    """As in the converted DiT checkpoints: every block's norm1.emb is block 0's."""
    sd = m.state_dict()
    for k in list(sd):
        if ".norm1.emb." in k and not k.startswith("transformer_blocks.0."):
            sd[k] = sd["transformer_blocks.0." + k.split(".", 2)[2]]
    m.load_state_dict(sd)


def test_dit_matches_diffusers_and_roundtrips(tmp_path):
    torch.manual_seed(0)
    m = diffusers.DiTTransformer2DModel(num_attention_heads=2, attention_head_dim=8, in_channels=4,
                                        out_channels=8, num_layers=2, sample_size=8, patch_size=2,
                                        num_embeds_ada_norm=10).eval()
    with torch.no_grad():  # diffusers zero-initialises adaLN and output layers: randomise all
        for p in m.parameters():
            p.normal_(0.0, 0.1)
    src = str(tmp_path / "dit_untied")
    m.save_pretrained(src)
    with pytest.raises(InteropError, match="transformer_blocks.1.norm1.emb.*differs"):
        load_diffusers(src)
    _tie_embeddings(m)
    src = str(tmp_path / "dit")
    m.save_pretrained(src)
    model, params, info = load_diffusers(src)
    assert info["image_shape"] == (8, 8, 4) and model.out_channels == 8
    x = np.random.RandomState(0).randn(2, 8, 8, 4).astype(np.float32)
    t, y = np.array([3, 999]), np.array([1, 10])  # 10: the null class
    with torch.no_grad():
        ref = m(torch.from_numpy(x.transpose(0, 3, 1, 2)), timestep=torch.from_numpy(t),
                class_labels=torch.from_numpy(y)).sample.numpy().transpose(0, 2, 3, 1)
    out = np.asarray(jax.jit(model.apply)({"params": params}, jnp.asarray(x), jnp.asarray(t), jnp.asarray(y)))
    rel = np.abs(out - ref).max() / np.abs(ref).max()
    print(f"DiTTransformer2DModel: max |gen_jax - diffusers| / max |diffusers| = {rel:.2e}")
    assert rel < 1e-5, rel

    out_dir = str(tmp_path / "export")
    save_diffusers(out_dir, model, params, info["image_shape"])
    _, params2, _ = load_diffusers(out_dir)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(params2)))
    sd1, sd2 = m.state_dict(), diffusers.DiTTransformer2DModel.from_pretrained(out_dir).state_dict()
    assert set(sd1) == set(sd2) and all(torch.equal(sd1[k], sd2[k]) for k in sd1)
