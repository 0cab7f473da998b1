"""experiments/bench_ar.py end to end on a smoke tokenizer and raster model over MNIST: every row
carries the FID of each --feature_nets network, and the extra network's values are what scoring
the same images directly with load_feature_net("mnist_v1") gives (the test-image floor and the
tokenizer's reconstructions, both deterministic)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.mark.skipif(not (DATA / "mnist").exists(), reason="needs ../shared/data/mnist")
def test_bench_ar_scores_every_row_in_every_feature_net(tmp_path):
    import jax

    from experiments import bench_common as bc
    from experiments import sampling
    from gen_jax.metrics.feature_nets import load_feature_net
    from gen_jax.utils.images import to_uint8

    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = lambda *a: subprocess.run([sys.executable, "-m", *a], capture_output=True, text=True,  # noqa: E731
                                    cwd=REPO, env=env, timeout=900)
    tok, ar, out = tmp_path / "vqvae", tmp_path / "ar", tmp_path / "bench"
    mnist = [f"--config.data.dir={DATA}", "--config.data.name=mnist", "--config.data.split=test"]
    # the smoke sizes on MNIST's 28x28: two downsamplings, a 7x7 grid of 16 codes
    r = run("experiments.main", "--config=experiments/configs/vqvae_mnist.py:smoke", f"--workdir={tok}",
            *mnist, "--config.model.channel_mult=(1, 2)")
    assert r.returncode == 0, r.stderr[-3000:]
    r = run("experiments.main", "--config=experiments/configs/ar_mnist.py:smoke", f"--workdir={ar}", *mnist,
            f"--config.objective.tokenizer_workdir={tok}", "--config.train.num_final_samples=0")
    assert r.returncode == 0, r.stderr[-3000:]
    r = run("experiments.bench_ar", f"--tokenizer={tok}", f"--ar={ar}", "--num=12", "--num_real=64",
            "--batch_size=6", "--feature_nets=mnist,mnist_v1", f"--data_dir={DATA}", f"--out_dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "results.json").read_text())
    rows = {row["model"]: row for row in res["rows"]}
    assert list(rows) == ["tokenizer reconstructions", "unigram tokens", "raster AR (KV cache)"]
    for row in rows.values():
        assert row["num"] == 12 and np.isfinite(row["fid"]) and np.isfinite(row["fid_mnist_v1"])
    assert rows["raster AR (KV cache)"]["steps"] == 49
    header = (out / "results.md").read_text().split("\n")[0]
    assert "| FID (mnist) | FID (mnist_v1) |" in header

    v1, new = load_feature_net("mnist_v1"), load_feature_net("mnist")
    ref_v1, _ = bc.training_reference(v1, "mnist", str(DATA), 12, 64)
    ref_new, _ = bc.training_reference(new, "mnist", str(DATA), 12, 64)
    test = bc.real_images("mnist", str(DATA), "test", 12, seed=0)
    assert res["meta"]["floor_fid_mnist_v1"] == pytest.approx(bc.fid_to(v1, test, ref_v1), rel=1e-5)
    assert res["meta"]["floor_fid"] == pytest.approx(bc.fid_to(new, test, ref_new), rel=1e-5)
    _, objective, state, _ = sampling.load_objective_and_params(str(tok))
    rec = to_uint8(np.asarray(jax.jit(objective.reconstruct)(state.ema_params, test)))
    assert rows["tokenizer reconstructions"]["fid_mnist_v1"] == pytest.approx(bc.fid_to(v1, rec, ref_v1), rel=1e-4)
    assert rows["tokenizer reconstructions"]["fid"] == pytest.approx(bc.fid_to(new, rec, ref_new), rel=1e-4)
