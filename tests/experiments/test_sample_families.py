"""experiments.sample on rectified-flow and VAE workdirs (objectives without a DDPM schedule)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def test_sample_command_on_a_flow_workdir_matches_the_library(tmp_path):
    from experiments.configs import rf_default
    from experiments.main import run
    from experiments.sampling import generate, load_objective_and_params

    c = rf_default.get_config("smoke")
    c.train.sample_every = 0
    run(c, str(tmp_path), progress=False)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "experiments.sample", f"--workdir={tmp_path}",
                        "--sampler=heun", "--steps=2", "--num=4", "--out=s.npz"],
                       capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    z = np.load(tmp_path / "s.npz")
    assert z["images"].shape == (4, 8, 8, 1) and z["images"].dtype == np.uint8
    np.testing.assert_array_equal(z["labels"], np.arange(4) % 10)
    _, obj, state, _ = load_objective_and_params(str(tmp_path))
    ref = generate(obj, state.ema_params, num=4, seed=0, sampler="heun", num_steps=2,
                   labels=np.arange(4, dtype=np.int32) % 10, progress=False)
    np.testing.assert_array_equal(z["images"], ref)
    bad = subprocess.run([sys.executable, "-m", "experiments.sample", f"--workdir={tmp_path}",
                          "--sampler=ddpm", "--num=4"], capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=600)
    assert bad.returncode != 0 and "rectified-flow run takes one of" in bad.stderr


def test_sample_command_on_a_vae_workdir_decodes_prior_samples(tmp_path):
    from experiments.configs import vae_default
    from experiments.main import run

    c = vae_default.get_config("smoke")
    c.train.sample_every = 0
    run(c, str(tmp_path), progress=False)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "experiments.sample", f"--workdir={tmp_path}", "--num=5"]
    for out, bs in (("a.npz", 5), ("b.npz", 2)):
        r = subprocess.run([*args, f"--out={out}", f"--batch_size={bs}"], capture_output=True,
                           text=True, cwd=REPO, env=env, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
    a, b = np.load(tmp_path / "a.npz")["images"], np.load(tmp_path / "b.npz")["images"]
    assert a.shape == (5, 8, 8, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)  # sample i does not depend on the batch size
    assert len({x.tobytes() for x in a}) == 5
