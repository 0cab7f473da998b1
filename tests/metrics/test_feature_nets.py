import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.data import load_dataset
from gen_jax.metrics import class_coverage, fid_from_features
from gen_jax.metrics.feature_nets import (calibrate_scales, extractor_stats, feature_stats,
                                          load_feature_net, predict_labels, save_feature_net,
                                          weights_path)
from gen_jax.nn.classifier import Classifier

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
HAS_MNIST = (SHARED_DATA / "mnist").is_dir()
HAS_FASHION = (SHARED_DATA / "fashion_mnist").is_dir()
needs_mnist = pytest.mark.skipif(not HAS_MNIST, reason="needs ../shared/data/mnist")


@pytest.fixture(scope="module")
def tiny_net(tmp_path_factory):
    """A random tiny classifier saved and loaded back through the weights file."""
    d = tmp_path_factory.mktemp("weights")
    m = Classifier(num_classes=3, channels=(4, 8), feature_dim=5)
    params = m.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))["params"]
    save_feature_net(weights_path("toy", str(d)), m, params, "toy", (8, 8, 1), 0.5)
    return load_feature_net("toy", str(d)), m, params


def test_missing_weights_error_names_path_and_command(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_feature_net("mnist", str(tmp_path))
    assert str(tmp_path / "mnist_classifier.msgpack") in str(e.value)
    assert "python -m experiments.train_classifier --dataset=mnist" in str(e.value)


def test_round_trip_gives_the_same_functions_and_uint8_means_0_255(tiny_net):
    net, m, params = tiny_net
    assert net.name == "toy_classifier (acc 50.0%)" and net.feature_dim == 5 and net.num_classes == 3
    u8 = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 1), dtype=np.uint8)
    x = u8.astype(np.float32) / 127.5 - 1
    np.testing.assert_allclose(net.features(x), m.apply({"params": params}, x, method="features"),
                               atol=1e-6)
    np.testing.assert_allclose(net.logits(u8), m.apply({"params": params}, x), atol=1e-5)


def test_wrong_image_shape_is_named(tiny_net):
    with pytest.raises(ValueError, match=r"expected images \[B, 8, 8, 1\].*found shape \(2, 8, 8, 3\)"):
        tiny_net[0].features(np.zeros((2, 8, 8, 3), np.float32))


def test_feature_stats_over_padded_batches_match_numpy(tiny_net):
    net = tiny_net[0]
    x = np.random.default_rng(1).uniform(-1, 1, (7, 8, 8, 1)).astype(np.float32)
    mu, sigma, feats = feature_stats(net, x, batch_size=3)  # batches of 3, 3, 1 (+2 padding)
    direct = np.asarray(net.features(x), np.float64)
    np.testing.assert_allclose(feats, direct, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mu, direct.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sigma, np.cov(direct, rowvar=False), rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(predict_labels(net, x, batch_size=3), np.argmax(net.logits(x), -1))


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist", "cifar10", "mnist_v1", "fashion_mnist_v1"])
def test_committed_weights_load_within_the_size_budget(dataset):
    assert os.path.getsize(weights_path(dataset)) <= 2_000_000
    net = load_feature_net(dataset)
    assert net.name.startswith(f"{dataset}_classifier (acc ") and net.num_classes == 10


@pytest.mark.parametrize("name", ["mnist_v1", "fashion_mnist_v1"])
def test_v1_weights_keep_their_groupnorm_penultimate_features(name):
    net = load_feature_net(name)
    assert net.model.norm and net.taps == 0 and net.feature_dim == 128
    x = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 1), dtype=np.uint8)
    np.testing.assert_allclose(net.features(x), net.model.apply(
        {"params": net.params}, x.astype(np.float32) / 127.5 - 1, method="features"), atol=1e-5)


def test_stage_taps_join_the_scaled_stage_means_and_survive_the_file(tmp_path):
    m = Classifier(num_classes=3, channels=(4, 8), feature_dim=5, norm=False)
    x = np.random.default_rng(2).uniform(-1, 1, (6, 8, 8, 1)).astype(np.float32)
    params = m.init(jax.random.PRNGKey(0), x[:1])["params"]
    scales = calibrate_scales(m, params, x, taps=1, batch_size=4)
    pen, stages = m.apply({"params": params}, x, method="stage_features")
    np.testing.assert_allclose(scales, [np.sqrt(np.var(pen, 0).mean()), np.sqrt(np.var(stages[0], 0).mean())],
                               rtol=1e-4)
    save_feature_net(weights_path("toy", str(tmp_path)), m, params, "toy", (8, 8, 1), 0.5, 1, scales)
    net = load_feature_net("toy", str(tmp_path))
    assert net.taps == 1 and net.feature_dim == 5 + 4 and net.dataset == "toy"
    want = np.concatenate([pen / scales[0], stages[0] / scales[1]], -1)
    np.testing.assert_allclose(net.features(x), want, rtol=1e-5, atol=1e-6)
    # Unit mean variance per group on the calibration images.
    f = np.asarray(net.features(x), np.float64)
    np.testing.assert_allclose([f[:, :5].var(0).mean(), f[:, 5:].var(0).mean()], [1, 1], rtol=1e-3)


def test_extractor_stats_takes_any_features_function():
    x = np.random.default_rng(3).integers(0, 256, (7, 4, 4, 3), dtype=np.uint8)
    fn = lambda b: b.reshape(len(b), -1)[:, :6].astype(np.float32)  # noqa: E731
    mu, sigma, feats = extractor_stats(fn, x, batch_size=3)
    direct = x.reshape(7, -1)[:, :6].astype(np.float64)
    np.testing.assert_allclose(feats, direct)
    np.testing.assert_allclose(mu, direct.mean(0), rtol=1e-6)
    np.testing.assert_allclose(sigma, np.cov(direct, rowvar=False), rtol=1e-4)
    with pytest.raises(ValueError, match=r"expected \[3, D\] for a batch of 3 images, found shape \(3, 2, 2\)"):
        extractor_stats(lambda b: np.zeros((len(b), 2, 2)), x, batch_size=3)


@pytest.fixture(scope="module")
def mnist_test():
    return load_dataset("mnist", str(SHARED_DATA), "test")


@needs_mnist
def test_mnist_net_classifies_real_test_images(mnist_test):
    net = load_feature_net("mnist")
    pred = predict_labels(net, mnist_test.images[:500])
    assert np.mean(pred == mnist_test.labels[:500]) >= 0.95
    assert class_coverage(pred, 10)["missing_classes"] == []


@needs_mnist
@pytest.mark.skipif(not HAS_FASHION, reason="needs ../shared/data/fashion_mnist")
def test_real_vs_real_fid_is_far_below_mnist_vs_fashion(mnist_test):
    net = load_feature_net("mnist")
    feats = feature_stats(net, mnist_test.images[:2000])[2]
    fashion = load_dataset("fashion_mnist", str(SHARED_DATA), "test").images[:1000]
    fid_real = fid_from_features(feats[:1000], feats[1000:])
    fid_other = fid_from_features(feats[:1000], feature_stats(net, fashion)[2])
    assert 10 * fid_real < fid_other, (fid_real, fid_other)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_penultimate_view_is_the_shipped_networks_first_feature_group(name):
    """load_feature_net('mnist_penultimate'): the same weights and scale, without the stage means:
    exactly the shipped features' first 128 columns, for the same dataset."""
    net, pen = load_feature_net(name), load_feature_net(name + "_penultimate")
    assert net.taps == 2 and pen.taps == 0 and pen.feature_dim == net.model.feature_dim == 128
    assert pen.dataset == net.dataset == name and "penultimate" in pen.name
    x = np.random.default_rng(1).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    full = np.asarray(net.features(x))
    np.testing.assert_allclose(pen.features(x), full[:, :128], rtol=1e-5, atol=1e-6)
    assert np.abs(full[:, 128:]).max() > 0  # the dropped stage means are not empty


def test_feature_group_reweighting_keeps_or_drops_whole_groups():
    """experiments.bench_feature_groups.reweighted: weight 1 keeps a group as shipped, 0 zeroes it."""
    from experiments.bench_feature_groups import reweighted

    net = load_feature_net("mnist")
    x = np.random.default_rng(3).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    full = np.asarray(net.features(x))
    pen = np.asarray(reweighted(net, (1, 0, 0)).features(x))
    np.testing.assert_allclose(pen[:, :128], full[:, :128], rtol=1e-5, atol=1e-6)
    assert not pen[:, 128:].any()
    s0 = np.asarray(reweighted(net, (0, 1, 0)).features(x))
    np.testing.assert_allclose(s0[:, 128:160], full[:, 128:160], rtol=1e-5, atol=1e-6)
    assert not s0[:, :128].any() and not s0[:, 160:].any()
