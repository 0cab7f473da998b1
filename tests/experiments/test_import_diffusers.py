"""experiments.import_diffusers for DiT and AutoencoderKL folders: a DiT pipeline (transformer/,
vae/, scheduler/, the layout of facebook/DiT-XL-2-256 at a tiny size) becomes a latent-diffusion
workdir, an AutoencoderKL folder an autoencoder workdir that latent diffusion takes with its
scaling factor; the rebuilt networks equal the imported ones exactly, experiments.sample runs on
the result, errors name the class or tensor, and host memory stays near the file size."""

import json
import os
import tracemalloc

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import build
from experiments.import_diffusers import import_folder
from experiments.sampling import load_objective_and_params
from experiments.workdir import load_run_info
from gen_jax.interop import InteropError, load_diffusers, save_diffusers
from gen_jax.nn.autoencoder import AutoencoderKL
from gen_jax.nn.dit import DiT
from sample_driver import sample_calls  # noqa: E402  (tests/experiments/)

SIZE = 16       # images; the autoencoder halves them (block_out_channels (32, 64))
CLASSES = 1000  # DiTPipeline hard-codes the null class 1000


def _torch_models(scaling_factor=0.18215):
    """A random DiT (learned σ, null class, per-block embeddings tied as in the DiT uploads) on
    8x8x4 latents and a random AutoencoderKL (SD's blocks) of 16x16 images, both from diffusers."""
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    torch.manual_seed(0)
    dit = diffusers.DiTTransformer2DModel(num_attention_heads=2, attention_head_dim=8, in_channels=4,
                                          out_channels=8, num_layers=2, sample_size=SIZE // 2,
                                          patch_size=2, num_embeds_ada_norm=CLASSES).eval()
    vae = diffusers.AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                                  up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(32, 64),
                                  layers_per_block=1, latent_channels=4, norm_num_groups=32,
                                  sample_size=SIZE, scaling_factor=scaling_factor).eval()
    with torch.no_grad():  # diffusers zero-initialises adaLN and output layers: randomise all
        for p in dit.parameters():
            p.normal_(0.0, 0.1)
        for p in vae.parameters():
            p.normal_(0.0, 0.05)
    sd = dit.state_dict()
    for k in list(sd):
        if ".norm1.emb." in k and not k.startswith("transformer_blocks.0."):
            sd[k] = sd["transformer_blocks.0." + k.split(".", 2)[2]]
    dit.load_state_dict(sd)
    return torch, diffusers, dit, vae


def _leaves_equal(a, b) -> bool:
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(np.array_equal(x, y) for x, y in zip(la, lb))


def test_autoencoder_folder_is_a_latent_diffusion_autoencoder(tmp_path):
    _, _, _, vae = _torch_models(scaling_factor=0.3)
    src = str(tmp_path / "vae")
    vae.save_pretrained(src)
    workdir = str(tmp_path / "ae_run")
    c = import_folder(src, workdir)
    assert (c.objective.name, c.objective.latent_scale) == ("autoencoder_kl", 0.3)

    model, params, _ = load_diffusers(src)
    _, ae, state, _ = load_objective_and_params(workdir)
    assert ae.model == model and _leaves_equal(state.ema_params, params)
    x = np.random.RandomState(0).uniform(-1, 1, (2, SIZE, SIZE, 3)).astype(np.float32)
    z = np.random.RandomState(1).randn(2, SIZE // 2, SIZE // 2, 4).astype(np.float32)
    mean, logvar = jax.jit(ae.encode)(state.ema_params, x)
    ref_mean, ref_logvar = jax.jit(lambda p, x: model.apply({"params": p}, x))(params, x)
    assert np.array_equal(mean, ref_mean) and np.array_equal(logvar, ref_logvar)

    # latent diffusion (configs/ldm_cifar10.py, latent_scale 0) on it takes the imported scale, no data
    from experiments.configs.ldm_cifar10 import get_config

    ldm = get_config("smoke")
    ldm.objective.autoencoder_workdir = workdir
    objective = build.objective(ldm, (SIZE, SIZE, 3), None)
    assert objective.scale == 0.3 and not os.path.exists(os.path.join(workdir, "latent_scale.json"))
    decode = jax.jit(lambda p, z: jnp.clip(model.apply({"params": p}, z, method=AutoencoderKL.decode), -1, 1))
    assert np.array_equal(jax.jit(objective.autoencoder.decode)(objective.ae_params, z), decode(params, z))


def test_dit_pipeline_is_a_latent_diffusion_workdir_sampled_as_diffusers(tmp_path, monkeypatch):
    torch, diffusers, dit, vae = _torch_models()
    from diffusers.pipelines.dit import pipeline_dit

    src = str(tmp_path / "pipe")
    pipe = diffusers.DiTPipeline(transformer=dit, vae=vae,
                                 scheduler=diffusers.DDIMScheduler(beta_schedule="linear", clip_sample=False))
    pipe.save_pretrained(src)
    with open(os.path.join(src, "model_index.json")) as f:  # the DiT uploads carry ImageNet's labels
        index = json.load(f)
    with open(os.path.join(src, "model_index.json"), "w") as f:
        json.dump({**index, "id2label": {str(i): f"class {i}" for i in range(CLASSES)}}, f)
    workdir = str(tmp_path / "run")
    c = import_folder(src, workdir)
    o = c.objective
    assert (o.name, o.base, o.learned_sigma, o.latent_scale) == ("latent_diffusion", "ddpm", True, 0.18215)
    assert o.autoencoder_workdir == os.path.join(workdir, "autoencoder") and c.sampler.spacing == "leading"

    model, params, _ = load_diffusers(src + "/transformer")
    _, objective, state, class_names = load_objective_and_params(workdir)
    inner = objective.inner
    assert inner.model == model and _leaves_equal(state.ema_params, params)
    assert class_names[3] == "class 3" and objective.image_shape == (SIZE, SIZE, 3)
    rng = np.random.RandomState(0)
    x = rng.randn(2, SIZE // 2, SIZE // 2, 4).astype(np.float32)
    t, y = np.array([3, 999]), np.array([1, CLASSES])  # CLASSES: the null class
    out = jax.jit(lambda p, x, t, y: inner.model.apply({"params": p}, x, t, y))(state.ema_params, x, t, y)
    assert out.shape == (2, SIZE // 2, SIZE // 2, 8)
    assert np.array_equal(out, jax.jit(lambda p, x, t, y: model.apply({"params": p}, x, t, y))(params, x, t, y))
    with torch.no_grad():
        ref = dit(torch.from_numpy(x.transpose(0, 3, 1, 2)), timestep=torch.from_numpy(t),
                  class_labels=torch.from_numpy(y)).sample.numpy().transpose(0, 2, 3, 1)
    eps = jax.jit(lambda p, x, t, y: inner.guided_model(p, y)(x, t))(state.ema_params, x, t, y)
    assert np.abs(eps - ref[..., :4]).max() < 1e-5 * np.abs(ref).max()  # the ε half, as DiTPipeline

    # DDIM-4 with classifier-free guidance from the same x_T: gen_jax against diffusers' DiTPipeline
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(0), i))(jnp.arange(2))
    labels = np.array([2, 7])
    x_T = np.asarray(objective.inner.noise(keys))
    monkeypatch.setattr(pipeline_dit, "randn_tensor",
                        lambda *a, **k: torch.from_numpy(x_T.transpose(0, 3, 1, 2).copy()))
    with torch.no_grad():
        theirs = pipe(class_labels=labels.tolist(), guidance_scale=1.5, num_inference_steps=4,
                      output_type="np").images
    ours = objective.sample(state.ema_params, keys, sampler="ddim", num_steps=4, spacing="leading",
                            labels=jnp.asarray(labels), guidance=1.5)
    err = np.abs((np.asarray(ours) + 1) / 2 - theirs).max()
    print(f"DiT pipeline, DDIM-4, guidance 1.5: max |gen_jax - diffusers| = {err:.2e}")
    assert err < 1e-4, err

    # the DiT folder alone, on the autoencoder run imported with the pipeline (--autoencoder_workdir)
    c2 = import_folder(src + "/transformer", str(tmp_path / "run2"), scheduler=src + "/scheduler/scheduler_config.json",
                       autoencoder_workdir=o.autoencoder_workdir)
    assert (c2.objective.autoencoder_workdir, c2.objective.latent_scale) == (o.autoencoder_workdir, 0.18215)
    assert c2.to_json() == c.to_json()

    # the command line: a few DDIM steps with guidance, one class
    [error] = sample_calls([["--workdir", workdir, "--steps=3", "--num=2", "--batch_size=2",
                             "--guidance=2", "--class=5", "--out=s.npz"]])
    assert error is None, error
    assert np.load(os.path.join(workdir, "s.npz"))["images"].shape == (2, SIZE, SIZE, 3)


def _dit_folder(path, in_channels, hidden=16, depth=2, seed=0):
    """A DiTTransformer2DModel folder written by gen_jax's exporter (random weights, no torch)."""
    model = DiT(patch_size=2, hidden_size=hidden, depth=depth, num_heads=2, num_classes=CLASSES,
                out_channels=2 * in_channels, frequency_dim=256, time_freq_shift=1.0,
                pos_embed_col_first=True, mlp_norm_eps=1e-5)
    shape = (8, 8, in_channels)
    params = _random(jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, *shape)),
                                    jnp.zeros((1,), jnp.int32), jnp.zeros((1,), jnp.int32))["params"], seed)
    save_diffusers(str(path), model, params, shape)
    return str(path)


def _random(abstract, seed=0):
    rng = np.random.RandomState(seed)
    return jax.tree.map(lambda s: rng.normal(0, 0.05, s.shape).astype(np.float32), abstract)


def test_import_errors_name_the_class_the_tensor_and_the_missing_autoencoder(tmp_path):
    from safetensors.numpy import load_file, save_file

    src = _dit_folder(tmp_path / "pipe" / "transformer", in_channels=4)
    with pytest.raises(InteropError, match=r"4-channel latents needs its autoencoder.*--vae"):
        import_folder(src, str(tmp_path / "w0"))
    ae = AutoencoderKL((16, 16, 3), 32, (1, 2), 1, 4, mid_attention=True, quant_conv=True)
    ae_params = _random(jax.eval_shape(lambda x: ae.init(jax.random.PRNGKey(0), x, method=AutoencoderKL.init_all),
                                       jnp.zeros((1, 16, 16, 3)))["params"])
    save_diffusers(str(tmp_path / "pipe" / "vae"), ae, ae_params, (16, 16, 3))
    (tmp_path / "pipe" / "model_index.json").write_text(json.dumps({"_class_name": "DiTPipeline"}))
    weights = os.path.join(src, "diffusion_pytorch_model.safetensors")
    tensors = load_file(weights)
    save_file({k: v for k, v in tensors.items() if k != "proj_out_1.bias"}, weights)
    with pytest.raises(InteropError, match=r"tensor 'proj_out_1.bias' is missing"):
        import_folder(str(tmp_path / "pipe"), str(tmp_path / "w0"))  # before the VAE is written
    assert not os.path.exists(tmp_path / "w0")
    src3 = _dit_folder(tmp_path / "dit3", in_channels=3)  # pixel space: imported without one
    weights = os.path.join(src3, "diffusion_pytorch_model.safetensors")
    tensors = load_file(weights)
    name = "transformer_blocks.1.attn1.to_k.weight"
    save_file({k: v for k, v in tensors.items() if k != name}, weights)
    with pytest.raises(InteropError, match=rf"tensor '{name}' is missing"):
        import_folder(src3, str(tmp_path / "w1"))
    save_file({**tensors, "proj_out_2.weight": tensors["proj_out_2.weight"][:-1]}, weights)
    with pytest.raises(InteropError, match=r"tensor 'proj_out_2.weight' has shape \(23, 16\), expected \(24, 16\)"):
        import_folder(src3, str(tmp_path / "w2"))
    with open(os.path.join(src3, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(src3, "config.json"), "w") as f:
        json.dump({**config, "_class_name": "UNet2DConditionModel"}, f)
    with pytest.raises(InteropError, match=r"model class 'UNet2DConditionModel' cannot be imported"):
        import_folder(src3, str(tmp_path / "w3"))
    vae = str(tmp_path / "pipe" / "vae")
    with open(os.path.join(vae, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(vae, "config.json"), "w") as f:
        json.dump({**config, "shift_factor": 0.1159}, f)  # SD3's VAE
    with pytest.raises(InteropError, match=r"field 'shift_factor' = 0.1159"):
        import_folder(vae, str(tmp_path / "w4"))
    assert not any(os.path.exists(tmp_path / f"w{i}" / "run.json") for i in range(5))


def test_import_host_memory_stays_near_the_file_size(tmp_path):
    """Peak numpy allocations of a whole import (load, config, checkpoint) against the size of the
    safetensors file: the parameters are held once and the zero optimiser state is never
    materialised (orbax's default would copy both)."""
    src = _dit_folder(tmp_path / "dit", in_channels=3, hidden=128, depth=6)
    size = os.path.getsize(os.path.join(src, "diffusion_pytorch_model.safetensors"))
    tracemalloc.start()
    try:
        import_folder(src, str(tmp_path / "run"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"import of a {size / 2**20:.1f} MiB DiT: peak numpy/Python allocations {peak / 2**20:.1f} MiB "
          f"({peak / size:.2f}x the file)")
    assert peak < 1.5 * size, peak / size
    _, objective, state, _ = load_objective_and_params(str(tmp_path / "run"))
    assert objective.learned_sigma and objective.image_shape == (8, 8, 3)
    assert all(float(jnp.abs(x).max()) == 0.0 for x in jax.tree.leaves(state.opt_state))
    c, shape, num_classes, _ = load_run_info(str(tmp_path / "run"))
    c.objective.learned_sigma = False  # 6 output channels are then a config error, not a silent slice
    with pytest.raises(ValueError, match=r"config.model.out_channels: expected 3 .*found 6"):
        build.objective(c, shape, num_classes)
