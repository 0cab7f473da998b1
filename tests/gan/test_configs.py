"""GAN configs end to end: the smoke variants train two steps through experiments.train.run and
write samples.png; bad values name their config field."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiments import build
from experiments.configs import dcgan_mnist, sngan_mnist, stylegan2_mnist, wgan_gp_mnist

DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


@pytest.mark.skipif(not (DATA / "mnist").exists(), reason="needs ../shared/data/mnist")
@pytest.mark.parametrize("config", [dcgan_mnist, wgan_gp_mnist, sngan_mnist, stylegan2_mnist])
def test_smoke_trains_two_steps_and_writes_samples(tmp_path, config):
    from experiments.train import run

    c = config.get_config("smoke")
    c.data.dir = str(DATA)
    if config is dcgan_mnist:  # class-conditional (embedding in G, projection D), sampled by class
        c.model.class_conditional = True
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2
    assert sorted(state.params) == ["d", "g"]
    img = np.asarray(Image.open(tmp_path / "samples.png"))
    assert img.ndim >= 2 and img.std() > 0  # 4 samples of 28x28 drawn, not a blank grid
    assert (tmp_path / "checkpoints" / "2").exists()
    if config is dcgan_mnist:
        _check_sample_cli(tmp_path)
    if config is stylegan2_mnist:  # w_avg after 2 steps; ψ = 0: one image for every z
        assert float(np.abs(state.model_state["g"]["stats"]["w_avg"]).max()) > 0
        import dataclasses

        import jax

        obj = dataclasses.replace(build.objective(c, (28, 28, 1), 10), truncation=0.0)
        images = obj.sample(state.ema_params, jax.random.PRNGKey(0), 3)
        assert images.shape == (3, 28, 28, 1)
        np.testing.assert_allclose(images, np.broadcast_to(images[:1], images.shape), atol=1e-6)


def _sample_cli(wd, *args):
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo))
    r = subprocess.run([sys.executable, "-m", "experiments.sample", f"--workdir={wd}", "--seed=0", *args],
                       capture_output=True, text=True, cwd=repo, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = [a.split("=", 1)[1] for a in args if a.startswith("--out=")][0]
    return np.load(wd / out)["images"]


def _check_sample_cli(wd):
    """experiments.sample --class=3 on a conditional GAN workdir: the library's samples of label 3
    (sample i from fold_in(key(seed), i), no guidance), and a slerp grid whose row ends are samples
    0 and 1 of the same seed and class."""
    import jax

    from experiments.sampling import load_objective_and_params
    from gen_jax.utils.images import to_uint8

    plain = _sample_cli(wd, "--num=3", "--class=3", "--out=s.npz")
    grid = _sample_cli(wd, "--num=1", "--class=3", "--interpolate=5", "--out=i.npz")
    assert plain.shape == (3, 28, 28, 1) and grid.shape == (5, 28, 28, 1)
    assert (wd / "i.png").exists() and (np.load(wd / "s.npz")["labels"] == 3).all()
    _, obj, state, _ = load_objective_and_params(str(wd))
    want = obj.sample(state.ema_params, jax.random.PRNGKey(0), 3, labels=np.full(3, 3))
    np.testing.assert_allclose(plain, to_uint8(want), atol=1)
    other = obj.sample(state.ema_params, jax.random.PRNGKey(0), 3, labels=np.full(3, 5))
    assert np.abs(np.asarray(other) - np.asarray(want)).max() > 1e-3  # the label matters
    np.testing.assert_allclose(grid[0], plain[0], atol=1)  # uint8: rounding may differ by 1
    np.testing.assert_allclose(grid[-1], plain[1], atol=1)
    assert np.abs(grid[2].astype(int) - plain[0]).max() > 0


def test_digits_conditional_gan_builds_and_samples_per_class():
    import jax

    c = dcgan_mnist.get_config("smoke")
    c.data.name = "digits"
    c.model.class_conditional = True
    obj = build.objective(c, (8, 8, 1), 10)
    p = obj.init(jax.random.PRNGKey(0)).ema_params
    x = obj.sample(p, jax.random.PRNGKey(1), 4, labels=np.array([0, 1, 2, 3]))
    assert x.shape == (4, 8, 8, 1)


@pytest.mark.parametrize("field,value", [
    ("objective.loss", "lsgan"), ("objective.n_critic", 0), ("model.g_norm", "layer"),
    ("optim.d_learning_rate", 0.0), ("optim.b1", 1.0), ("model.name", "unet"),
    ("objective.diffaugment", "color,flip"), ("sampler.truncation", 0.5),
])
def test_validate_names_bad_gan_fields(field, value):
    c = wgan_gp_mnist.get_config()
    section, key = field.split(".")
    c[section][key] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
        build.validate(c)


def test_stylegan2_fields_are_validated():
    c = stylegan2_mnist.get_config()
    c.model.style_mixing_prob = 1.5
    with pytest.raises(ValueError, match="config.model.style_mixing_prob"):
        build.validate(c)


def test_unsupported_image_size_names_the_dataset():
    c = dcgan_mnist.get_config("smoke")
    with pytest.raises(ValueError, match="config.data.name.*got 7"):
        build.objective(c, (7, 7, 1), None)
