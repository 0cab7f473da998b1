"""experiments/bench_rf.py: the FID table gets a column per model and feature network."""


def test_markdown_has_a_column_per_model_and_network():
    from experiments import bench_rf

    res = {"rf1_logit_normal/nfe1": 200.0, "rf1_logit_normal/fid_mnist_v1/nfe1": 90.0,
           "rf1_logit_normal/nfe2": 40.0, "rf1_logit_normal/fid_mnist_v1/nfe2": 30.0,
           "rf2/nfe1": 50.0, "rf2/fid_mnist_v1/nfe1": 20.0, "rf2/straightness": 0.01,
           "rf2/steps": 4}
    meta = {"num_fid": 8, "num_real": 16, "num_pairs": 4, "pair_sampler": "rf_heun", "pair_steps": 2,
            "num_straight": 4, "straight_steps": 2, "hardware": "cpu", "command": "python -m x",
            "feature_net": "a, b", "feature_nets": ["mnist", "mnist_v1"], "floor_fid": 1.5,
            "floor_fid_mnist_v1": 0.5}
    lines = bench_rf.markdown(res, meta).split("\n")
    assert lines[0] == ("| Euler steps (NFE) | 1-RF, logit-normal t (mnist) | 1-RF, logit-normal t "
                        "(mnist_v1) | 2-RF (reflow of 1-RF logit-normal) (mnist) | 2-RF (reflow of "
                        "1-RF logit-normal) (mnist_v1) |")
    assert lines[2:4] == ["| 1 | 200.00 | 90.00 | 50.00 | 20.00 |", "| 2 | 40.00 | 30.00 | – | – |"]
    assert "1.50 (mnist), 0.50 (mnist_v1)" in lines[-2]
    one = bench_rf.markdown({k: v for k, v in res.items() if "fid_" not in k},
                            {**meta, "feature_nets": ["mnist"]}).split("\n")
    assert one[0] == "| Euler steps (NFE) | 1-RF, logit-normal t | 2-RF (reflow of 1-RF logit-normal) |"
