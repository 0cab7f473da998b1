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
