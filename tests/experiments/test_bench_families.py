"""experiments/bench_families.py: the --run spec parser, and end to end on a two-step MNIST smoke
VAE: every run is scored in every --feature_nets network, and the values are what scoring the same
samples directly gives."""

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", REPO.parent / "shared" / "data"))


def test_run_spec_parses_sampler_steps_and_options_and_names_a_bad_option():
    from absl import app

    from experiments.bench_families import parse_run

    assert parse_run("runs/x") == {"workdir": "runs/x", "sampler": None, "num_steps": None, "eta": 0.0,
                                   "guidance": 1.0}
    assert parse_run("runs/m@ddim:20:eta=1:guidance=2") == {
        "workdir": "runs/m", "sampler": "ddim", "num_steps": 20, "eta": 1.0, "guidance": 2.0}
    assert parse_run("runs/g@:8") == {"workdir": "runs/g", "sampler": None, "num_steps": 8, "eta": 0.0,
                                      "guidance": 1.0}
    with pytest.raises(app.UsageError, match="bad option 'temp=2'"):
        parse_run("runs/m@ddim:temp=2")
    with pytest.raises(app.UsageError, match="bad option 'x'"):
        parse_run("runs/m@ddim:x")


def test_bench_families_scores_each_run_in_each_feature_net(tmp_path, run_module, vae_smoke_run):
    from experiments import bench_common as bc
    from experiments import sampling
    from gen_jax.metrics.feature_nets import load_feature_net

    wd, out = vae_smoke_run, tmp_path / "bench"
    r = run_module("experiments.bench_families", f"--run={wd}", "--num=12", "--num_real=64",
            "--feature_nets=mnist,mnist_penultimate,mnist_v1", f"--data_dir={DATA}", f"--out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "results.json").read_text())
    (row,) = res["rows"]
    assert row["family"] == "vae" and row["sampler"] == "prior" and row["num"] == 12
    assert set(res["meta"]["floors"]) == {"mnist", "mnist_penultimate", "mnist_v1"}
    assert (out / "samples_0.png").exists()
    assert "| FID (mnist) | FID (mnist_penultimate) | FID (mnist_v1) |" in (out / "results.md").read_text()

    # the same prior samples (seed 0, one batch), scored directly against the same 64 training images
    _, objective, state, _ = sampling.load_objective_and_params(str(wd))
    images = sampling.generate(objective, state.ema_params, num=12, seed=0, sampler="prior",
                               num_steps=1, batch_size=500, progress=False)
    for name, key in [("mnist", "fid"), ("mnist_penultimate", "fid_mnist_penultimate"), ("mnist_v1", "fid_mnist_v1")]:
        net = load_feature_net(name)
        ref, _ = bc.training_reference(net, "mnist", str(DATA), 12, 64)
        assert row[key] == pytest.approx(bc.fid_to(net, images, ref), rel=1e-4), name

    # a missing workdir is named
    r = run_module("experiments.bench_families", f"--run={wd}", "--run=/nonexistent/wd", "--num=12",
            f"--data_dir={DATA}", f"--out_dir={out}")
    assert r.returncode != 0 and "no workdir '/nonexistent/wd'" in r.stderr
