"""controlnet_mnist.py end to end on the embedded digits, through experiments.bench_controlnet:
a 2-step base run, a 2-step ControlNet run on it (base weights frozen), the edge-agreement scores,
and experiments.sample --control-image on the ControlNet workdir."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from experiments import bench_controlnet
from experiments.sampling import load_objective_and_params

REPO = Path(__file__).resolve().parents[2]


def test_controlnet_smoke_bench_and_command_line(tmp_path):
    r = bench_controlnet.run("smoke", str(tmp_path), num=4, rows=1, batch_size=4)
    for name in ("controlnet", "base", "other_digit"):
        assert 0.0 <= r["scores"][name]["edge_f1_tol1"]["mean"] <= 1.0
    assert json.loads((tmp_path / "controlnet.json").read_text())["num"] == 4
    assert (tmp_path / "controlnet.md").exists() and (tmp_path / "controlnet.png").exists()
    cn_dir = tmp_path / "controlnet"
    assert (cn_dir / "samples.png").exists()
    _, _, state, _ = load_objective_and_params(str(cn_dir))
    _, _, base_state, _ = load_objective_and_params(str(tmp_path / "base"))
    assert int(state.step) == 2
    for a, b in zip(jax.tree.leaves(state.params["base"]), jax.tree.leaves(base_state.ema_params)):
        np.testing.assert_array_equal(a, b)  # the base run's EMA weights, frozen

    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, "-m", "experiments.sample", f"--workdir={cn_dir}",
                        "--control-image=test:0", "--num=3", "--steps=2", "--out=c.npz"],
                       capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    z = np.load(cn_dir / "c.npz")
    assert z["images"].shape == (3, 8, 8, 1) and z["hint"].shape == (8, 8, 1)
    from gen_jax.data import load_dataset
    from gen_jax.utils.conditions import sobel_edges

    edges = np.asarray(sobel_edges(load_dataset("digits", split="test").images[:1]))[0]
    np.testing.assert_array_equal(z["hint"] == 255, edges == 1)  # the map of test image 0
    assert (cn_dir / "c.png").exists()


def test_bad_controlnet_fields_name_the_field(tmp_path):
    import pytest

    from experiments import build
    from experiments.configs import controlnet_mnist

    c = controlnet_mnist.get_config("smoke")
    with pytest.raises(ValueError, match="config.objective.base_workdir"):
        build.validate(c)  # no base run named
    c.objective.base_workdir = str(tmp_path)
    with pytest.raises(ValueError, match="config.objective.base_workdir: .*run.json not found"):
        build.validate(c)
    c.objective.condition = "canny"
    with pytest.raises(ValueError, match="config.objective.condition"):
        build.validate(c)
