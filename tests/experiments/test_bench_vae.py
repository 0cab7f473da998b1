"""experiments/bench_vae.py end to end on a two-step MNIST smoke VAE: with --feature_nets it reports
every network's FID of the same prior samples, and the v1 FID is what scoring those samples
directly with load_feature_net("mnist_v1") gives."""

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", REPO.parent / "shared" / "data"))


def test_feature_nets_flag_adds_the_v1_fid_of_the_same_samples(tmp_path, run_module, vae_smoke_run):
    from experiments import bench_common as bc
    from experiments import sampling
    from gen_jax.metrics.feature_nets import load_feature_net

    wd, out = vae_smoke_run, tmp_path / "bench"
    r = run_module("experiments.bench_vae", f"--workdirs={wd}", "--num=8,16", "--num_real=64",
            "--feature_nets=mnist,mnist_v1", f"--data_dir={DATA}", f"--out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r_["num"] for r_ in rows] == [8, 16]
    for r_ in rows:
        assert {"fid", "fid_mnist_v1", "floor_fid", "floor_fid_mnist_v1"} <= set(r_)
    header = (out / "results.md").read_text().split("\n")[0]
    assert "| FID (mnist) | FID (mnist_v1) | floor FID (real, same N) (mnist) |" in header

    # the same prior samples (bench_vae: seed 0, one batch), scored directly with the v1 network
    # against the same 64 training images (bench_common.real_images, seed 0)
    _, objective, state, _ = sampling.load_objective_and_params(str(wd))
    images = sampling.generate(objective, state.ema_params, num=16, seed=0, sampler="prior",
                               num_steps=1, batch_size=500, progress=False)
    v1 = load_feature_net("mnist_v1")
    ref, _ = bc.training_reference(v1, "mnist", str(DATA), 16, 64)
    assert rows[1]["fid_mnist_v1"] == pytest.approx(bc.fid_to(v1, images, ref), rel=1e-5)
    assert rows[0]["fid_mnist_v1"] == pytest.approx(bc.fid_to(v1, images[:8], ref), rel=1e-5)
    default, _ = bc.training_reference(load_feature_net("mnist"), "mnist", str(DATA), 16, 64)
    assert rows[1]["fid"] == pytest.approx(bc.fid_to(load_feature_net("mnist"), images, default), rel=1e-5)
