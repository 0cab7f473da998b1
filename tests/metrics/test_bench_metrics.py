"""experiments/bench_metrics.py at smoke size (32 test images): one row per corruption of the suite,
ratios that obey their definition, the Markdown tables and the plot."""

import pytest

from experiments import bench_metrics
from gen_jax.metrics import corruptions
from gen_jax.metrics.feature_nets import load_feature_net


def test_bench_one_rows_tables_and_plot(shared_data, tmp_path):
    if not (shared_data / "mnist").is_dir():
        pytest.fail(f"needs {shared_data / 'mnist'}")
    net = load_feature_net("mnist_v1")
    res = bench_metrics.bench_one(net.name, "mnist", net.features, str(shared_data), num_train=64,
                                  num_test=32, kid_subsets=2, seed=0)
    rows = res["rows"]
    assert [(r["family"], r["strength"]) for r in rows] == [("real", 0)] + [
        (f, s) for f, (_, strengths) in corruptions.SUITE.items() for s in strengths]
    real = rows[0]["fid"]
    for r in rows:
        assert r["fid_ratio"] == pytest.approx(r["fid"] / real)
        assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and r["kid_std"] >= 0
    assert res["bars"]["blur_0.8_ratio"] == pytest.approx(rows[2]["fid_ratio"])
    md = bench_metrics.markdown([res], {"num_train": 64, "num_test": 32, "kid_subsets": 2, "seed": 0,
                                        "hardware": "cpu", "command": "x"})
    assert "| real (intact) | " in md and "| Gaussian blur σ (pixels) = 0.8 |" in md
    assert f"| {net.name} | {res['bars']['blur_0.8_ratio']:.1f}× " in md
    bench_metrics.plot([res], tmp_path / "fid.png")
    assert (tmp_path / "fid.png").stat().st_size > 10_000
