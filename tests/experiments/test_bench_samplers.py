"""The sampler benchmark end to end on a two-step MNIST smoke run (tiny numbers, real code path)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


needs_mnist = pytest.mark.skipif(not (DATA / "mnist").exists(), reason="needs ../shared/data/mnist")


def run(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=900)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """A two-step MNIST DDPM smoke workdir, trained once for the module."""
    wd = tmp_path_factory.mktemp("bench_samplers") / "run"
    r = run("experiments.main", "--config=experiments/configs/ddpm_mnist.py:smoke", f"--workdir={wd}",
            f"--config.data.dir={DATA}", "--config.train.sample_every=0")
    assert r.returncode == 0, r.stderr[-3000:]
    return wd


@needs_mnist
def test_bench_writes_table_plot_json_compiles_once_and_resumes(smoke_run):
    wd = smoke_run
    args = ["experiments.bench_samplers", f"--workdir={wd}", "--samplers=ddim,ddim:eta=1",
            "--nfe=1,3", "--guidance=1,2", "--num=24", "--batch_size=12", "--num_real=300",
            f"--data_dir={DATA}"]
    r = run(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    out = wd / "bench_samplers"
    res = json.loads((out / "results.json").read_text())
    rows = res["rows"]
    assert len(rows) == 2 * 2 * 2  # samplers x nfe x guidance
    assert res["meta"]["compilations"] == {"ddim": 1, "ddim:eta=1": 1}
    for r_ in rows:
        assert r_["fid"] > 0 and 0 <= r_["precision"] <= 1 and 0 <= r_["class_accuracy"] <= 1
        assert r_["overhead"] > 0
    table = (out / "results.md").read_text()
    assert "| ddim:eta=1 | 3 | 2 |" in table and "mnist_classifier" in table.lower()
    assert (out / "fid_vs_nfe.png").stat().st_size > 1000
    # rerun: every cell is read back, nothing is sampled or compiled again
    r = run(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    res2 = json.loads((out / "results.json").read_text())
    assert res2["meta"]["compilations"] == {"ddim": 0, "ddim:eta=1": 0}
    key = lambda r_: (r_["sampler"], r_["nfe"], r_["guidance"])
    assert sorted((key(r_), r_["fid"]) for r_ in res2["rows"]) == sorted((key(r_), r_["fid"]) for r_ in rows)


@needs_mnist
def test_feature_nets_rescore_finished_cells_and_v1_equals_scoring_the_saved_samples(smoke_run, tmp_path):
    import numpy as np

    from experiments import bench_common as bc
    from gen_jax.metrics.feature_nets import load_feature_net

    args = ["experiments.bench_samplers", f"--workdir={smoke_run}", "--samplers=ddim", "--nfe=2",
            "--guidance=1", "--num=16", "--num_real=64", f"--data_dir={DATA}", f"--out_dir={tmp_path}"]
    r = run(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    (before,) = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert "fid_mnist_v1" not in before
    # the finished cell lacks the v1 FID: it is sampled and scored again, in both networks
    r = run(*args, "--feature_nets=mnist,mnist_v1", "--save_samples")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "results.json").read_text())
    (row,) = res["rows"]
    assert row["fid"] == pytest.approx(before["fid"], rel=1e-6)  # the same samples as before
    assert res["meta"]["feature_nets"] == ["mnist", "mnist_v1"] and "floor_fid_mnist_v1" in res["meta"]
    assert "| FID (mnist) | FID (mnist_v1) |" in (tmp_path / "results.md").read_text()
    (npz,) = (tmp_path / "cells").glob("*.npz")
    v1 = load_feature_net("mnist_v1")
    ref, _ = bc.training_reference(v1, "mnist", str(DATA), 16, 64, seed=None)  # the bench's reference
    assert row["fid_mnist_v1"] == pytest.approx(bc.fid_to(v1, np.load(npz)["images"], ref), rel=1e-5)
