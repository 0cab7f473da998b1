"""experiments/bench_gan.py at smoke size (tiny configs, 16 samples): every mode writes its JSON
and Markdown (and the plots), with numbers that obey their definitions."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import bench_gan

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", REPO.parent / "shared" / "data"))
needs_mnist = pytest.mark.skipif(not (DATA / "mnist").exists(), reason="needs ../shared/data/mnist")


def test_speed_cli_rows_and_ratios(tmp_path):
    # through the command line (its flags); one sampler at two step counts compiles once (the
    # ddpm sampler runs the same code path)
    r = subprocess.run([sys.executable, "-m", "experiments.bench_gan", "--mode=speed", "--variant=smoke",
                        "--batch_size=4", "--repeats=1", "--diffusion=ddim:6,ddim:2",
                        f"--out_dir={tmp_path}"], capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads((tmp_path / "speed.json").read_text())["rows"]
    assert [(r["sampler"], r["steps"]) for r in rows] == [("G(z)", 1), ("ddim", 6), ("ddim", 2)]
    for r in rows:
        assert r["images_per_sec"] == pytest.approx(4 / r["sec_per_batch"])
        assert r["gan_speedup"] == pytest.approx(rows[0]["images_per_sec"] / r["images_per_sec"])
    assert rows[1]["params"] == rows[2]["params"] > 0 and rows[0]["gan_speedup"] == 1
    md = (tmp_path / "speed.md").read_text()
    assert "| DDPM U-Net | ddim | 2 |" in md and "nothing was trained" in md and "Batch 4," in md


@needs_mnist
def test_collapse_logs_coverage_every_step_through_the_training_loop(tmp_path):
    res = bench_gan.collapse(str(tmp_path), str(DATA), steps=2, eval_every=1, eval_samples=16,
                             variant="smoke", progress=False)
    for name in ("healthy", "collapse"):
        curve = res["runs"][name]["curve"]
        assert [p["step"] for p in curve] == [1, 2]
        for p in curve:
            assert p["class_coverage"] in np.arange(1, 11) / 10
            assert 0 <= p["precision"] <= 1 and 0 <= p["recall"] <= 1 and p["fid"] > 0
            assert sum(p["class_share"]) == pytest.approx(1) and len(p["class_share"]) == 10
            # classes hit = classes with a non-zero share
            assert p["class_coverage"] == pytest.approx(np.mean(np.asarray(p["class_share"]) > 0))
    assert res["runs"]["collapse"]["loss"] == "minimax"
    assert (tmp_path / "collapse.png").stat().st_size > 5000
    md = (tmp_path / "collapse.md").read_text()
    assert md.count("| healthy |") == 2 and "gan_collapse_mnist" in md


@needs_mnist
def test_targets_on_fashion_mnist_then_stability_reuse_the_cells(tmp_path, monkeypatch):
    # one model: dcgan is trained by the collapse test, and a DDPM smoke run costs ~20 s of
    # compilation; the loop is the same for every model, and for every dataset
    kw = dict(seeds=(0,), steps=2, num=16, num_real=64, variant="smoke", progress=False,
              models=("wgan_gp",), dataset="fashion_mnist")
    res = bench_gan.targets(str(tmp_path), str(DATA), **kw)
    (r,) = res["summary"]
    assert r["model"] == "wgan_gp" and r["steps"] == 2 and r["num"] == 16 and r["fid_spread"] == 0
    assert np.isfinite(r["fid_mean"]) and 0 <= r["recall"] <= 1 and 0 <= r["prdc_coverage"] <= 1
    assert res["meta"]["feature_net"].startswith("fashion_mnist_classifier")
    root = tmp_path / "fashion_mnist"
    assert (root / "stability" / "wgan_gp_seed0" / "run.json").exists()
    assert "| wgan_gp | wgan_gp_mnist | 8 | 2 | 16 | " in (root / "targets.md").read_text()
    monkeypatch.setattr(bench_gan.main_lib, "run", lambda *a, **k: pytest.fail("retrained"))
    again = bench_gan.stability(str(tmp_path), str(DATA), **kw)
    assert again["summary"] == res["summary"]
    assert "| wgan_gp | wgan_gp_mnist | 8 | 2 | 16 | " in (root / "stability.md").read_text()
    # a second feature network: the finished cell is scored again from its checkpoint, not
    # retrained, and the first network's numbers stay those of the same samples
    both = bench_gan.stability(str(tmp_path), str(DATA), **kw,
                               feature_nets=("fashion_mnist", "fashion_mnist_v1"))
    (s,) = both["summary"]
    assert {k: s[k] for k in r if isinstance(r[k], float)} == pytest.approx(
        {k: v for k, v in r.items() if isinstance(v, float)}, rel=1e-5)
    assert s["fid_fashion_mnist_v1_per_seed"] == [both["cells"][0]["fid_fashion_mnist_v1"]]
    assert np.isfinite(s["fid_fashion_mnist_v1_mean"]) and s["fid_fashion_mnist_v1_std"] == 0
    assert both["meta"]["feature_nets"] == ["fashion_mnist", "fashion_mnist_v1"]
    md = (root / "stability.md").read_text()
    assert "| FID per seed (fashion_mnist) |" in md and "| mean (fashion_mnist_v1) |" in md


def test_summary_mean_std_spread():
    cells = [{"model": "dcgan", "steps": 5, "fid": f, "precision": p, "recall": 0.5, "class_coverage": 1.0}
             for f, p in ((10.0, 0.2), (14.0, 0.4), (12.0, 0.6))]
    (s,) = bench_gan.summarize(cells, ["dcgan"])
    assert s["fid_mean"] == 12.0 and s["fid_std"] == 2.0 and s["fid_spread"] == 4.0
    assert s["precision"] == pytest.approx(0.4) and s["config"] == "dcgan_mnist"


def test_build_evaluator_is_off_by_default_and_skips_datasets_without_a_feature_net(capsys):
    from experiments import build
    from experiments.configs import dcgan_mnist
    from gen_jax.data import load_dataset

    c = dcgan_mnist.get_config("smoke")
    c.data.name = "digits"
    ds = load_dataset("digits")
    assert build.evaluator(c, ds, None) is None and capsys.readouterr().out == ""
    c.train.eval_every = 5
    assert build.evaluator(c, ds, None) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "'digits' has no feature network" in out
    c.train.eval_every = -1
    with pytest.raises(ValueError, match="config.train.eval_every"):
        build.evaluator(c, ds, None)


def test_objective_trick_curves_are_the_closed_form_gradients():
    # ∂/∂f of log(1 - σ(f)) is -σ(f); of -log σ(f) it is -(1 - σ(f)): at the start of training
    # (D rejects the fakes, D(G(z)) -> 0) the minimax gradient vanishes, the other stays ~1
    p = np.array([0.001, 0.01, 0.1, 0.5, 0.9, 0.999])
    g = bench_gan.objective_curves(p)
    np.testing.assert_allclose(g["minimax"], -p, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(g["nonsaturating"], -(1 - p), rtol=1e-4, atol=1e-6)
    assert abs(g["minimax"][0]) < 1.1e-3 and abs(g["nonsaturating"][0]) > 0.99


def test_objective_mode_reads_both_runs_logs_into_table_and_plot(tmp_path, monkeypatch):
    # the training is main.run's (tested with the configs); here: one run per loss with the
    # loss and logging cadence asked for, and its logged rows (a repeated step: the last) in the
    # table and plot
    from gen_jax.train.logging import MetricWriter

    seen = []

    def fake_run(c, workdir, progress=True):
        seen.append((c.objective.loss, c.train.log_every, c.model.channels))
        w = MetricWriter(os.path.join(workdir, "logs"), tensorboard=False)
        p0 = 0.3 if c.objective.loss == "minimax" else 0.4
        for step in (2, 4, 4):
            w.write(step, {"g_grad_norm": step * p0, "d_fake_prob": p0 / step, "g_loss": 1.0,
                           "d_loss": 1.0, "loss": 1.0})
        w.write(4, {"steps_per_sec": 3.0})
        w.close()

    monkeypatch.setattr(bench_gan.main_lib, "run", fake_run)
    res = bench_gan.objective_trick(str(tmp_path), steps=4, log_every=2, channels=16)
    assert seen == [("minimax", 2, 16), ("nonsaturating", 2, 16)]
    curve = res["runs"]["minimax"]["curve"]
    assert [p["step"] for p in curve] == [2, 4] and curve[1]["d_fake_prob"] == pytest.approx(0.075)
    assert (tmp_path / "objective.png").stat().st_size > 5000
    md = (tmp_path / "objective.md").read_text()
    assert "| 4 | 0.075 | 1.2 | 0.100 | 1.6 |" in md and "‖∇_θ L_G‖" in md
