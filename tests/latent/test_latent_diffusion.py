"""Latent diffusion end to end: the smoke configs train (a 2-step autoencoder, then 2 steps of
DDPM on its latents) and samples decode to the image shape, from Python and experiments.sample."""

import os
import subprocess
import sys
from pathlib import Path

import chex
import jax
import numpy as np
import pytest

from experiments import build
from experiments.configs import autoencoder_cifar10, ldm_cifar10

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from experiments.train import run

    root = tmp_path_factory.mktemp("ldm")
    run(autoencoder_cifar10.get_config("smoke"), str(root / "ae"), progress=False)
    c = ldm_cifar10.get_config("smoke")
    c.objective.autoencoder_workdir = str(root / "ae")
    state = run(c, str(root / "ldm"), progress=False)
    return root, c, state


def test_smoke_trains_and_its_samples_decode_to_the_image_shape(runs):
    root, c, state = runs
    assert int(state.step) == 2 and (root / "ldm" / "samples.png").exists()
    assert (root / "ae" / "latent_scale.json").exists()  # the scale is stored with the autoencoder
    obj = build.objective(c, (8, 8, 1), 10)
    assert obj.latent_shape == (2, 2, 4)  # 8x8 digits, x4 downsampling, 4 channels
    z = obj.sample_latents(state.ema_params, jax.random.PRNGKey(0), 3, num_steps=3)
    x = obj.sample(state.ema_params, jax.random.PRNGKey(0), 3, num_steps=3)
    chex.assert_shape(z, (3, 2, 2, 4))
    chex.assert_shape(x, (3, 8, 8, 1))
    np.testing.assert_allclose(x, obj.decode(z), atol=1e-6)  # sample = decode(latent sample)
    assert float(np.abs(x).max()) <= 1.0


def test_rectified_flow_base_on_the_same_autoencoder_samples_images(runs):
    c = ldm_cifar10.get_config("smoke")
    c.objective.autoencoder_workdir = str(runs[0] / "ae")
    c.objective.base, c.sampler.name = "rectified_flow", "rf_euler"
    obj = build.objective(c, (8, 8, 1), 10)
    params = obj.init(jax.random.PRNGKey(0)).ema_params
    chex.assert_shape(obj.sample(params, jax.random.PRNGKey(0), 2, sampler="rf_euler", num_steps=2), (2, 8, 8, 1))


def test_sample_command_on_an_ldm_workdir_decodes(runs):
    wd = runs[0] / "ldm"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "experiments.sample", f"--workdir={wd}", "--steps=2",
                        "--num=3", "--out=s.npz"], capture_output=True, text=True, cwd=REPO, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    images = np.load(wd / "s.npz")["images"]
    assert images.shape == (3, 8, 8, 1) and images.dtype == np.uint8


def test_bad_autoencoder_workdir_names_the_field(tmp_path):
    c = ldm_cifar10.get_config("smoke")
    c.objective.autoencoder_workdir = str(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="config.objective.autoencoder_workdir"):
        build.validate(c)
    c.objective.autoencoder_workdir, c.objective.base = str(tmp_path), "gan"
    with pytest.raises(ValueError, match="config.objective.base"):
        build.validate(c)
