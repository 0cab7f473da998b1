"""experiments.import_diffusers: a diffusers DDPM pipeline folder becomes a workdir that
experiments.sampling (behind experiments.sample / bench_samplers) loads and samples like a run."""

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from experiments.import_diffusers import import_folder  # noqa: E402
from experiments.sampling import generate, load_objective_and_params  # noqa: E402
from gen_jax.interop import load_diffusers  # noqa: E402


def test_import_pipeline_folder_to_workdir(tmp_path):
    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(sample_size=8, block_out_channels=(16, 32), layers_per_block=1,
                                 down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                                 up_block_types=("AttnUpBlock2D", "UpBlock2D"), attention_head_dim=None,
                                 downsample_padding=0, flip_sin_to_cos=False, freq_shift=1,
                                 norm_eps=1e-6, norm_num_groups=8)
    sched = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=True)
    src = str(tmp_path / "pipe")
    diffusers.DDPMPipeline(unet=unet, scheduler=sched).save_pretrained(src)
    workdir = str(tmp_path / "run")
    c = import_folder(src, workdir)
    assert (c.objective.schedule, c.objective.prediction, c.sampler.spacing) == ("linear", "eps", "leading")

    _, objective, state, _ = load_objective_and_params(workdir)
    _, params, _ = load_diffusers(src + "/unet")
    restored = jax.tree.leaves(state.ema_params)
    assert len(restored) == len(jax.tree.leaves(params))
    assert all(np.array_equal(a, b) for a, b in zip(restored, jax.tree.leaves(params)))
    # the same sampler, batch and spacing as the protocol cell below: one compilation (cached) for both
    images = generate(objective, state.ema_params, num=8, seed=0, sampler="ddim", num_steps=10,
                      spacing="leading", batch_size=8, progress=False)
    assert images.shape == (8, 8, 8, 3) and images.dtype == np.uint8

    # the CIFAR-10 protocol driver on this workdir, with a stand-in feature map (Inception needs
    # its converted weights): FID of a cell, published figure beside it, results written
    from experiments.bench_cifar10_protocol import run

    feats = jax.jit(lambda x: x.reshape(x.shape[0], -1)[:, :6].astype(np.float32) / 255.0)
    real = np.random.RandomState(0).randint(0, 256, (16, 8, 8, 3)).astype(np.uint8)
    rows = run(objective, state.ema_params, feats, real, ["ddim:10"], num=8, batch_size=8,
               out_dir=str(tmp_path / "protocol"))
    assert rows[0]["published_fid"] == 13.36 and np.isfinite(rows[0]["fid"]) and rows[0]["fid"] > 0
    assert (tmp_path / "protocol" / "results.md").exists()
