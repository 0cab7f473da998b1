"""experiments/bench_common.py: the results JSON carries its provenance, Markdown tables format
their cells, plots land as PNG files, and the FID helpers agree with each other."""

import json

import numpy as np
import pytest

from experiments import bench_common as bc


def test_results_json_and_markdown_written_with_provenance(tmp_path):
    res = {"meta": {"num": 3, **bc.run_info()}, "rows": [{"a": 1}]}
    path = bc.write_results(str(tmp_path / "out"), "results", res, "| a |\n", echo=False)
    back = json.loads(open(path).read())
    assert back == res and path.endswith("out/results.json")
    assert {"command", "hardware", "date"} <= set(back["meta"])
    assert back["meta"]["command"].startswith("python ")
    assert "×" in back["meta"]["hardware"] and back["meta"]["date"][:2] == "20"
    assert (tmp_path / "out" / "results.md").read_text() == "| a |\n"
    bc.write_results(str(tmp_path), "bare", [1, 2])  # no Markdown asked: none written
    assert json.loads((tmp_path / "bare.json").read_text()) == [1, 2]
    assert not (tmp_path / "bare.md").exists()


def test_markdown_table_formats_cells_and_marks_missing_ones():
    rows = [{"name": "ddim", "fid": 3.14159, "n": 10, "shape": (8, 8, 4)},
            {"name": "ddpm", "fid": None, "n": 1000}]
    md = bc.markdown_table(rows, [("sampler", "name"), ("FID", "fid", "{:.2f}"), ("steps", "n"),
                                  ("shape", "shape", lambda s: "x".join(map(str, s))),
                                  ("calls / 10", lambda r: r["n"] / 10, "{:g}")])
    assert md.split("\n") == ["| sampler | FID | steps | shape | calls / 10 |",
                              "|---|---|---|---|---|",
                              "| ddim | 3.14 | 10 | 8x8x4 | 1 |",
                              "| ddpm | – | 1000 | – | 100 |"]
    assert bc.markdown_table(rows[1:], [("FID", "fid")], missing="n/a").endswith("| n/a |")


def test_line_plot_and_figure_write_png_files(tmp_path):
    path = bc.line_plot(str(tmp_path / "fid.png"), {"ddim": ([1, 10, 100], [50.0, 9.0, 4.0]),
                                                    "ddpm": ([10, 100], [80.0, 6.0])},
                        xlabel="NFE", ylabel="FID", xscale="log", yscale="log")
    png = (tmp_path / "fid.png").read_bytes()
    assert path.endswith("fid.png") and png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    fig, axes = bc.subplots(2, figsize=(6, 3))
    axes[0].plot([0, 1], [0, 1], label="a")
    axes[1].bar([0, 1], [1, 2])
    bc.save_figure(fig, str(tmp_path / "two.png"))
    assert axes[0].get_legend() is not None and axes[1].get_legend() is None  # no labels: no legend
    assert (tmp_path / "two.png").stat().st_size > 1000


def test_fid_between_equals_fid_to_a_reference_of_the_same_images():
    from gen_jax.metrics.feature_nets import load_feature_net
    from gen_jax.train.evaluation import real_reference

    net = load_feature_net("mnist")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 28, 28, 1), dtype=np.uint8)
    b = rng.integers(0, 128, (40, 28, 28, 1), dtype=np.uint8)
    assert bc.fid_between(net, a, b) == pytest.approx(bc.fid_to(net, a, real_reference(net, b, 8)))
    assert bc.fid_between(net, a, a) == pytest.approx(0.0, abs=1e-3)
    assert bc.fid_between(net, a, b) > 1.0


def test_feature_nets_keep_the_dataset_s_networks_in_the_given_order():
    names = ["mnist_v1", "fashion_mnist", "mnist", "mnist_v1"]
    assert list(bc.feature_nets("mnist", names)) == ["mnist_v1", "mnist"]
    assert list(bc.feature_nets("fashion_mnist", names)) == ["fashion_mnist"]
    assert list(bc.feature_nets("mnist")) == ["mnist"]  # no names: the dataset's default
    assert list(bc.feature_nets("fashion_mnist", ["mnist"])) == ["fashion_mnist"]
    assert bc.extra_fid_keys(bc.feature_nets("mnist", ["mnist", "mnist_v1"])) == ["fid_mnist_v1"]
    with pytest.raises(FileNotFoundError, match="mnist_v9"):
        bc.feature_nets("mnist", ["mnist_v9"])


def test_extra_fids_equal_scoring_the_same_images_with_the_v1_network_directly():
    from gen_jax.metrics.feature_nets import feature_stats, load_feature_net
    from gen_jax.metrics.frechet import frechet_distance
    from gen_jax.train.evaluation import real_reference

    rng = np.random.default_rng(1)
    real = rng.integers(0, 256, (48, 28, 28, 1), dtype=np.uint8)
    fake = rng.integers(0, 160, (40, 28, 28, 1), dtype=np.uint8)
    nets = bc.feature_nets("mnist", ["mnist", "mnist_v1"])
    refs = {name: real_reference(net, real, 16) for name, net in nets.items()}
    out = bc.extra_fids(nets, fake, refs)
    assert list(out) == ["fid_mnist_v1"]
    v1 = load_feature_net("mnist_v1")
    mu_r, sigma_r, _ = feature_stats(v1, real)
    mu, sigma, _ = feature_stats(v1, fake)
    assert out["fid_mnist_v1"] == pytest.approx(float(frechet_distance(mu, sigma, mu_r, sigma_r)), rel=1e-6)
    # the first network's FID is not among them, and differs from v1's on the same images
    assert bc.fid_to(nets["mnist"], fake, refs["mnist"]) != pytest.approx(out["fid_mnist_v1"], rel=0.01)
    assert list(bc.extra_fids(nets, fake, refs, "floor_")) == ["floor_fid_mnist_v1"]


def test_fid_columns_one_per_network():
    assert bc.fid_columns(["mnist"]) == [("FID", "fid", "{:.2f}")]
    cols = bc.fid_columns(["mnist", "mnist_v1"], "floor_fid", "{:.3f}", "floor FID")
    assert [(h, k) for h, k, _ in cols] == [("floor FID (mnist)", "floor_fid"),
                                            ("floor FID (mnist_v1)", "floor_fid_mnist_v1")]
    md = bc.markdown_table([{"fid_mean": 1.0, "fid_mnist_v1_mean": 2.5}],
                           bc.fid_columns(["mnist", "mnist_v1"], "fid_mean"))
    assert md.split("\n")[0] == "| FID (mnist) | FID (mnist_v1) |" and md.endswith("| 1.00 | 2.50 |")
