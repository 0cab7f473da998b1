"""experiments/bench_distill.py: the issue-6 target and the table for every feature network."""

import pytest


def _rows():
    # FIDs chosen so that the default network meets the target (ratio 1.2) and v1 does not (2.0)
    row = lambda model, steps, fid, v1: {"model": model, "sampler": "ddim", "steps": steps,  # noqa: E731
                                         "fid": fid, "fid_mnist_v1": v1, "precision": 0.5,
                                         "recall": 0.5, "prdc_coverage": 0.1, "class_entropy": 0.9}
    return [row("teacher", 1, 500.0, 90.0), row("teacher", 50, 50.0, 10.0),
            row("progressive (pd, step 3)", 1, 60.0, 25.0), row("consistency (cd)", 1, 70.0, 20.0)]


def test_target_per_network_and_a_verdict_line_each():
    from experiments import bench_distill

    rows = _rows()
    t = bench_distill.target(rows)
    assert (t["teacher_steps"], t["best_1step_model"], t["met"]) == (50, "progressive (pd, step 3)", True)
    assert t["ratio"] == pytest.approx(1.2)
    t1 = bench_distill.target(rows, "fid_mnist_v1")
    assert (t1["best_1step_model"], t1["ratio"], t1["met"]) == ("consistency (cd)", 2.0, False)
    meta = {"num": 4, "num_real": 8, "feature_net": "a, b", "feature_nets": ["mnist", "mnist_v1"],
            "data": "mnist", "hardware": "cpu", "target": t, "targets": {"mnist_v1": t1}}
    md = bench_distill.rows_to_markdown(rows, meta)
    assert "| FID (mnist) | FID (mnist_v1) |" in md and "| teacher | ddim | 50 | 50.00 | 10.00 |" in md
    assert "ratio 1.20 (target <= 1.5: met) [mnist features]." in md
    assert "ratio 2.00 (target <= 1.5: not met) [mnist_v1 features]." in md
    # one network: the table and verdict as before the flag
    one = bench_distill.rows_to_markdown(rows, {**meta, "feature_nets": ["mnist"], "targets": {}})
    assert "| FID | precision |" in one and "(target <= 1.5: met).\n" in one and "features]" not in one
