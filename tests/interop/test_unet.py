"""UNet2DModel import/export against diffusers itself (torch CPU, test-only), at a tiny width with
google/ddpm-cifar10-32's block structure (attention on the second level, [sin, cos] embedding
with shift 1, additive time embedding, downsample padding 0)."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from gen_jax.interop import InteropError, load_diffusers, save_diffusers  # noqa: E402
from gen_jax.interop.scheduler import scheduler_from_config  # noqa: E402
from gen_jax.samplers.ddpm_ddim import ddim_sample, make_denoiser  # noqa: E402

SIZE = 8
# google/ddpm-cifar10-32's config.json at 1/4 width (block_out_channels 128, 256, 256, 256 there)
DDPM_CIFAR10 = dict(sample_size=SIZE, in_channels=3, out_channels=3, block_out_channels=(32, 64, 64, 64),
                    layers_per_block=2, down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
                    up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
                    attention_head_dim=None, downsample_padding=0, flip_sin_to_cos=False, freq_shift=1,
                    norm_eps=1e-6, norm_num_groups=8, mid_block_scale_factor=1, act_fn="silu",
                    center_input_sample=False, time_embedding_type="positional")
# google/ddpm-cifar10-32's scheduler_config.json (DDPMScheduler)
DDPM_SCHEDULER = dict(_class_name="DDPMScheduler", beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                      num_train_timesteps=1000, variance_type="fixed_small", clip_sample=True,
                      trained_betas=None)


def _random_unet(seed=0, **overrides):
    torch.manual_seed(seed)
    m = diffusers.UNet2DModel(**{**DDPM_CIFAR10, **overrides}).eval()
    with torch.no_grad():  # diffusers zero-initialises nothing, but scale so activations stay O(1)
        for p in m.parameters():
            p.normal_(0.0, 0.05)
        m.conv_out.weight.mul_(5.0)  # outputs of std ~0.2: as x0 predictions, images in range
    return m


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("ddpm_unet"))
    m = _random_unet()
    m.save_pretrained(d)
    return d, m


@pytest.fixture(scope="module")
def loaded(folder):
    return load_diffusers(folder[0])


def _torch_out(m, x, t):
    with torch.no_grad():
        return m(torch.from_numpy(x.transpose(0, 3, 1, 2)), torch.from_numpy(t)).sample.numpy().transpose(0, 2, 3, 1)


def test_unet_matches_diffusers(folder, loaded):
    d, m = folder
    model, params, info = loaded
    assert info["image_shape"] == (SIZE, SIZE, 3)
    x = np.random.RandomState(0).randn(2, SIZE, SIZE, 3).astype(np.float32)
    t = np.array([3, 999])
    ref = _torch_out(m, x, t)
    out = np.asarray(jax.jit(model.apply)({"params": params}, jnp.asarray(x), jnp.asarray(t)))
    rel = np.abs(out - ref).max() / np.abs(ref).max()
    print(f"UNet2DModel: max |gen_jax - diffusers| / max |diffusers| = {rel:.2e}")
    assert rel < 1e-5, rel


def test_export_import_exact_and_read_by_diffusers(folder, loaded, tmp_path):
    d, m = folder
    model, params, info = loaded
    out_dir = str(tmp_path / "export")
    save_diffusers(out_dir, model, params, info["image_shape"])
    model2, params2, _ = load_diffusers(out_dir)
    assert model2 == model
    flat1, flat2 = jax.tree_util.tree_leaves_with_path(params), jax.tree_util.tree_leaves_with_path(params2)
    assert [p for p, _ in flat1] == [p for p, _ in flat2]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(flat1, flat2))
    # diffusers reads the export and holds exactly the original weights
    m2 = diffusers.UNet2DModel.from_pretrained(out_dir).eval()
    sd1, sd2 = m.state_dict(), m2.state_dict()
    assert set(sd1) == set(sd2)
    assert all(torch.equal(sd1[k], sd2[k]) for k in sd1)


def test_ddim10_matches_diffusers_pipeline(folder, loaded):
    """DDIM-10 (η = 0, leading spacing: the DDPM scheduler config read by DDIMScheduler) from the
    same x_T. The random network is read as an x0 predictor (prediction_type "sample"): as an ε
    predictor its images would be all clipped, and the comparison empty. With clip_sample,
    diffusers recomputes ε from the clipped x0 only when asked (use_clipped_model_output=True),
    which is what gen_jax's DDIM does."""
    d, m = folder
    cfg = {**DDPM_SCHEDULER, "prediction_type": "sample"}
    spec = scheduler_from_config(cfg)
    assert (spec.gen_jax_schedule, spec.prediction, spec.spacing) == ("linear", "x0", "leading")
    sched = diffusers.DDIMScheduler.from_config(cfg)
    pipe = diffusers.DDIMPipeline(unet=m, scheduler=sched)
    pipe.set_progress_bar_config(disable=True)
    ref = pipe(batch_size=2, generator=torch.Generator().manual_seed(0), eta=0.0, num_inference_steps=10,
               use_clipped_model_output=True, output_type="np").images  # [B, H, W, C] in [0, 1]
    x_T = torch.randn((2, 3, SIZE, SIZE), generator=torch.Generator().manual_seed(0)).numpy().transpose(0, 2, 3, 1)
    model, params, _ = loaded
    denoise = make_denoiser(lambda x, t: model.apply({"params": params}, x, t), spec.schedule, spec.prediction)
    x0 = ddim_sample(denoise, spec.schedule, jnp.asarray(x_T), jax.random.PRNGKey(0), 10, 0.0,
                     spacing=spec.spacing, clip_x0=spec.clip_sample)
    ours = np.clip(np.asarray(x0) / 2 + 0.5, 0, 1)
    assert 0.02 < ref.std() and np.mean((ref > 0) & (ref < 1)) > 0.9  # not a saturated image
    err = np.abs(ours - ref).max()
    print(f"DDIM-10 max |gen_jax - diffusers| = {err:.2e} (image std {ref.std():.3f})")
    assert err < 1e-4, err


def _corrupt(src, dst, edit):
    from safetensors.numpy import load_file, save_file

    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    tensors = load_file(os.path.join(src, "diffusion_pytorch_model.safetensors"))
    cfg, tensors = edit(cfg, tensors)
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f)
    save_file(tensors, os.path.join(dst, "diffusion_pytorch_model.safetensors"))
    return dst


def test_errors_name_tensor_shape_class_and_refuse_pickle(folder, tmp_path):
    d, _ = folder
    key = "down_blocks.1.attentions.0.to_q.weight"
    missing = _corrupt(d, str(tmp_path / "missing"), lambda c, t: (c, {k: v for k, v in t.items() if k != key}))
    with pytest.raises(InteropError, match=f"{key}.*missing"):
        load_diffusers(missing)
    bad = _corrupt(d, str(tmp_path / "shape"), lambda c, t: (c, {**t, "conv_in.weight": t["conv_in.weight"][:, :2]}))
    with pytest.raises(InteropError, match=r"conv_in.weight.*shape \(32, 2, 3, 3\)"):
        load_diffusers(bad)
    unknown = _corrupt(d, str(tmp_path / "class"), lambda c, t: ({**c, "_class_name": "UNet3DConditionModel"}, t))
    with pytest.raises(InteropError, match="UNet3DConditionModel"):
        load_diffusers(unknown)
    extra = _corrupt(d, str(tmp_path / "extra"), lambda c, t: (c, {**t, "class_embedding.weight": np.zeros((10, 128), np.float32)}))
    with pytest.raises(InteropError, match="class_embedding.weight"):
        load_diffusers(extra)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({"_class_name": "UNet2DModel"}))
    (pickled / "diffusion_pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(InteropError, match="safetensors"):
        load_diffusers(str(pickled))
    with pytest.raises(InteropError, match="time_embedding_type"):
        load_diffusers(_corrupt(d, str(tmp_path / "fourier"), lambda c, t: ({**c, "time_embedding_type": "fourier"}, t)))


def test_legacy_attention_names(folder, loaded, tmp_path):
    """Early diffusers uploads (the google/ddpm-* folders) name the attention projections
    query/key/value/proj_attn; they load to the same parameters."""
    d, _ = folder
    ren = {"to_q.": "query.", "to_k.": "key.", "to_v.": "value.", "to_out.0.": "proj_attn."}

    def rename(c, t):
        out = {}
        for k, v in t.items():
            for a, b in ren.items():
                if ".attentions." in k and a in k:
                    k = k.replace(a, b)
            out[k] = v
        return c, out

    legacy = _corrupt(d, str(tmp_path / "legacy"), rename)
    _, p1, _ = loaded
    _, p2, _ = load_diffusers(legacy)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p2)))
