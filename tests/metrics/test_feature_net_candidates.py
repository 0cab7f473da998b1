"""Feature-network candidates: anti-aliased pooling, the shift augmentation's width, and the sweep
that trains and scores them (experiments/sweep_feature_nets.py)."""

import json
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.sweep_feature_nets import content_first, parse_candidate, sweep
from experiments.train_classifier import run as train_classifier, shift_pad
from gen_jax.metrics.feature_nets import load_feature_net, save_feature_net
from gen_jax.nn.classifier import Classifier, MNISTClassifier, downsample

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_blur_pool_halves_like_max_pool_and_moves_less_under_a_one_pixel_shift():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 28, 28, 3))
    np.testing.assert_array_equal(downsample(x, "max"), nn.max_pool(x, (2, 2), strides=(2, 2)))
    assert downsample(x, "blur").shape == (2, 14, 14, 3)
    # A constant map stays constant away from the zero-padded border.
    np.testing.assert_allclose(downsample(jnp.ones((1, 8, 8, 2)), "blur")[0, 1:, 1:], 1.0, rtol=1e-6)
    # A one-pixel shift of the input changes the blurred output less than the max-pooled one.
    x = jax.random.uniform(jax.random.PRNGKey(1), (4, 28, 28, 1))
    xs = jnp.roll(x, 1, axis=2)
    change = {p: float(jnp.abs(downsample(x, p) - downsample(xs, p))[:, 2:-2, 2:-2].mean())
              for p in ("max", "blur")}
    assert change["blur"] < 0.8 * change["max"], change
    with pytest.raises(ValueError, match="pool: expected one of"):
        downsample(x, "avg")


def test_pool_and_spatial_are_recorded_in_the_weights_file_and_old_files_default_to_max_flatten(tmp_path):
    model = MNISTClassifier(norm=False, pool="blur", spatial="mean")
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))["params"]
    save_feature_net(str(tmp_path / "mnist_classifier.msgpack"), model, params, "mnist", (28, 28, 1),
                     0.5, taps=1, scales=[1.0, 2.0])
    net = load_feature_net("mnist", str(tmp_path))
    assert net.model.pool == "blur" and net.model.spatial == "mean" and net.taps == 1
    # The mean reduction feeds the Dense one vector of channels, whatever the map's size.
    assert params["backbone"]["Dense_0"]["kernel"].shape == (64, 128)
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    want = model.apply({"params": params}, jnp.asarray(x, jnp.float32) / 127.5 - 1, method="features")
    np.testing.assert_allclose(net.features(x)[:, :128], np.asarray(want), rtol=1e-5, atol=1e-6)
    # The shipped weights were written before the field existed: they load as max-pool nets.
    shipped = load_feature_net("mnist").model
    assert shipped.pool == "max" and shipped.spatial == "flatten"
    assert Classifier().pool == "max" and Classifier().spatial == "flatten"
    with pytest.raises(ValueError, match="spatial: expected one of"):
        Classifier(spatial="max").init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))


def test_shift_augmentation_width_and_bad_hyperparameters_fail_before_the_data_loads():
    assert shift_pad("shift") == 1 and shift_pad("shift:3") == 3
    for bad in ("shift:0", "shift:x", "flip"):
        with pytest.raises(ValueError, match="augment: expected"):
            shift_pad(bad)
    # No data directory is needed to reject these: the check comes first.
    with pytest.raises(ValueError, match="augment: expected"):
        train_classifier("mnist", "/nonexistent", "/tmp/unused", "/tmp/unused", augment="shift:-1")
    with pytest.raises(ValueError, match="pool: expected"):
        train_classifier("mnist", "/nonexistent", "/tmp/unused", "/tmp/unused", pool="mean")
    with pytest.raises(ValueError, match="spatial: expected"):
        train_classifier("mnist", "/nonexistent", "/tmp/unused", "/tmp/unused", spatial="gap")
    with pytest.raises(ValueError, match=r"unknown hyperparameters \['poool'\]"):
        train_classifier("mnist", "/nonexistent", "/tmp/unused", "/tmp/unused", poool="blur")


def test_candidate_specs_are_typed_by_the_defaults_and_bad_ones_are_named():
    assert parse_candidate("base:", "mnist") == ("base", {})
    name, kw = parse_candidate("b2:pool=blur,augment=shift:2,steps=2000,penultimate_weight=1,norm=true",
                               "mnist")
    assert name == "b2" and kw == {"pool": "blur", "augment": "shift:2", "steps": 2000,
                                   "penultimate_weight": 1.0, "norm": True}
    assert parse_candidate("n:augment=none", "mnist")[1] == {"augment": None}
    for bad, msg in [("nocolon", "expected NAME:KEY=VALUE"), ("a b:steps=1", "expected NAME"),
                     ("x:stepz=3", "'stepz=3' is not KEY=VALUE"), ("x:steps", "is not KEY=VALUE"),
                     ("x:norm=maybe", "norm takes true or false")]:
        with pytest.raises(ValueError, match=msg):
            parse_candidate(bad, "mnist")
    with pytest.raises(ValueError):
        parse_candidate("x:steps=many", "mnist")


def test_content_first_compares_one_missing_class_with_noise_and_salt():
    rows = lambda d1, n16, salt: [{"family": "drop", "strength": 1, "fid_ratio": d1},  # noqa: E731
                                  {"family": "noise", "strength": 16, "fid_ratio": n16},
                                  {"family": "salt", "strength": 0.005, "fid_ratio": salt}]
    assert content_first(rows(5.0, 2.0, 3.0))["content_first"]
    assert not content_first(rows(5.0, 6.0, 3.0))["content_first"]
    assert not content_first(rows(5.0, 2.0, 5.0))["content_first"]


@pytest.mark.skipif(not (DATA / "mnist").is_dir(), reason="needs ../shared/data/mnist")
def test_sweep_trains_scores_every_view_and_reuses_a_finished_candidate(tmp_path, monkeypatch):
    from gen_jax.metrics import corruptions

    # The corruptions the bars and the content check read, one strength each (the suite's 20
    # cases per view take minutes on a CPU).
    monkeypatch.setattr(corruptions, "SUITE", {
        "blur": ("Gaussian blur", (0.8,)), "noise": ("Gaussian noise", (16,)),
        "salt": ("salt noise", (0.005,)), "shift": ("shift", (1,)), "drop": ("classes removed", (1, 5))})
    spec = ["tiny:steps=4,batch_size=16,pool=blur"]
    kw = dict(num_train=300, num_test=100, seed=0, eval_images=500)
    written = []
    res = sweep("mnist", str(DATA), str(tmp_path), spec, weights=(1.0,), **kw,
                on_candidate=lambda r: written.append(len(r)))
    assert [r["view"] for r in res] == ["all groups", "penultimate weight 1", "penultimate"]
    assert written == [3]
    record = json.loads((tmp_path / "tiny" / "mnist_classifier.json").read_text())
    assert record["hyperparameters"]["pool"] == "blur" and "--pool=blur" in record["command"]
    for r in res:
        assert r["fid_real"] > 0 and np.isfinite(r["fid_real"])
        assert r["rows"][0]["family"] == "real" and r["rows"][0]["fid_ratio"] == 1.0
        assert set(r["bars"]) >= {"blur_0.8_pass", "noise_16_pass", "shift_1_pass"}
    # Re-weighting changes the features, so the same images score differently per view.
    assert len({round(r["fid_real"], 6) for r in res}) == 3
    # A rerun reuses the trained weights (the same record) and reproduces the same scores.
    again = sweep("mnist", str(DATA), str(tmp_path), spec, **kw)
    assert [r["view"] for r in again] == ["all groups", "penultimate"]
    assert again[0]["train_seconds"] == res[0]["train_seconds"]
    assert [r["fid_real"] for r in again] == pytest.approx([res[0]["fid_real"], res[2]["fid_real"]],
                                                           rel=1e-5)
