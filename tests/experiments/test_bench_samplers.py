"""The sampler benchmark end to end on a two-step MNIST smoke run (tiny numbers, real code path)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


@pytest.mark.skipif(not (DATA / "mnist").exists(), reason="needs ../shared/data/mnist")
def test_bench_writes_table_plot_json_compiles_once_and_resumes(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = lambda *a: subprocess.run([sys.executable, "-m", *a], capture_output=True, text=True,
                                    cwd=REPO, env=env, timeout=900)
    wd = tmp_path / "run"
    r = run("experiments.main", "--config=experiments/configs/ddpm_mnist.py:smoke", f"--workdir={wd}",
            f"--config.data.dir={DATA}", "--config.train.sample_every=0")
    assert r.returncode == 0, r.stderr[-3000:]
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
