"""End-to-end: every config's smoke variant trains two steps, and sample.py reads the workdir."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import build
from experiments.configs import ddpm_mnist, default

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


def _run(args, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=900)


def test_default_smoke_trains_and_samples_from_the_command_line(tmp_path):
    wd = tmp_path / "run"
    r = _run(["experiments.main", "--config=experiments/configs/default.py:smoke", f"--workdir={wd}"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert (wd / "samples.png").exists() and (wd / "run.json").exists()
    assert (wd / "checkpoints" / "2").exists()
    out = "s.npz"
    args = ["experiments.sample", f"--workdir={wd}", "--sampler=ddim", "--steps=3", "--num=6",
            "--seed=0", f"--out={out}", "--batch_size=4"]
    r = _run(args)
    assert r.returncode == 0, r.stderr[-3000:]
    z = np.load(wd / out)
    assert z["images"].shape == (6, 8, 8, 1) and z["images"].dtype == np.uint8
    np.testing.assert_array_equal(z["labels"], np.arange(6) % 10)
    assert (wd / "s.png").exists()
    # same seed, different batch size: the same samples
    r = _run([*args[:-1], "--batch_size=6", "--out=t.npz"])
    assert r.returncode == 0, r.stderr[-3000:]
    np.testing.assert_array_equal(np.load(wd / "t.npz")["images"], z["images"])
    # inpainting from the command line keeps the known (left) half of the input exactly
    r = _run(["experiments.sample", f"--workdir={wd}", "--steps=3", "--num=3", "--out=inp.npz",
              "--init-image=test:3", "--mask=left", "--eta=1"])
    assert r.returncode == 0, r.stderr[-3000:]
    from gen_jax.data import load_dataset
    from gen_jax.utils.images import to_uint8

    ref = to_uint8(load_dataset("digits", split="test").images[3])
    inp = np.load(wd / "inp.npz")["images"]
    np.testing.assert_array_equal(inp[:, :, :4], np.broadcast_to(ref[:, :4], inp[:, :, :4].shape))
    assert (wd / "inp.png").exists()


def test_command_line_override_and_bad_value_names_the_field(tmp_path):
    r = _run(["experiments.main", "--config=experiments/configs/default.py:smoke",
              f"--workdir={tmp_path}", "--config.objective.prediction=score"])
    assert r.returncode != 0
    assert "config.objective.prediction" in r.stderr and "'score'" in r.stderr


def test_missing_data_directory_names_the_path(tmp_path, monkeypatch):
    monkeypatch.delenv("GEN_JAX_DATA_DIR", raising=False)
    c = ddpm_mnist.get_config("smoke")
    c.data.dir = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere.*train-images-idx3-ubyte.gz"):
        build.dataset(c)
    c.data.dir = ""
    with pytest.raises(FileNotFoundError, match="config.data.dir"):
        build.dataset(c)


@pytest.mark.parametrize("field,value,msg", [
    ("objective.schedule", "quadratic", "config.objective.schedule"),
    ("sampler.num_steps", 10_000, "config.sampler.num_steps"),
    ("optim.learning_rate", -1.0, "config.optim.learning_rate"),
    ("train.batch_size", 0, "config.train.batch_size"),
    ("train.num_final_samples", -1, "config.train.num_final_samples"),
])
def test_validate_names_bad_fields(field, value, msg):
    c = default.get_config()
    section, key = field.split(".")
    c[section][key] = value
    with pytest.raises(ValueError, match=msg):
        build.validate(c)


@pytest.mark.skipif(not (DATA / "mnist").exists(), reason="needs ../shared/data/mnist")
def test_ddpm_mnist_smoke_trains_two_steps_in_process(tmp_path):
    from experiments.train import run

    c = ddpm_mnist.get_config("smoke")
    c.data.dir = str(DATA)
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2
    assert (tmp_path / "samples.png").exists()
    # the finished run again, with train.num_final_samples = 0: restored, no grid written
    (tmp_path / "samples.png").unlink()
    c.train.num_final_samples = 0
    assert int(run(c, str(tmp_path), progress=False).step) == 2
    assert not (tmp_path / "samples.png").exists()


@pytest.mark.skipif(not (DATA / "mnist").exists(), reason="needs ../shared/data/mnist")
def test_noisy_classifier_trains_through_the_loop_and_guides_sampling(tmp_path):
    import jax

    from experiments.configs import classifier_mnist
    from experiments.train import run
    from experiments.sampling import generate, load_objective_and_params, sampler_fn

    c = classifier_mnist.get_config("smoke")
    c.data.dir = str(DATA)
    state = run(c, str(tmp_path / "clf"), progress=False)
    assert int(state.step) == 2
    _, clf, cstate, _ = load_objective_and_params(str(tmp_path / "clf"))
    # a diffusion objective on the same schedule, untrained (guidance must still change samples)
    d = ddpm_mnist.get_config("smoke")
    obj = build.objective(d, (28, 28, 1), 10)
    params = obj.init(jax.random.PRNGKey(0)).params
    labels = np.arange(4, dtype=np.int32)
    fn = sampler_fn(obj, "ddim", conditional=True, classifier=clf)
    kw = dict(num=4, seed=0, sampler="ddim", num_steps=3, labels=labels, fn=fn, progress=False,
              cg_params=cstate.ema_params)
    plain = generate(obj, params, **kw, cg_scale=0.0)
    np.testing.assert_array_equal(plain, generate(obj, params, num=4, seed=0, sampler="ddim",
                                                  num_steps=3, labels=labels, progress=False))
    assert not np.array_equal(plain, generate(obj, params, **kw, cg_scale=50.0))
