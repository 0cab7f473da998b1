"""Each default feature network (MNIST, Fashion-MNIST, CIFAR-10) passes the sensitivity bars of docs/metrics.md on a small sample of
real images: FID(blur σ 0.8) ≥ 10×, FID(noise σ 16/255) ≥ 1.5× and FID(one-pixel shift) < 2× the
real-vs-real FID, rising with blur and noise strength. (experiments/bench_metrics.py measures the
same at 2,000 test images against 10,000 training images, with every corruption.)

Known failure: the Fashion-MNIST network reacts to a one-pixel shift at about 4.4x (garments reach
the image border, so the shift changes content there; the v1 network: 11x). The test asserts
that state, so that a network which fixes it is noticed and the assertion flipped."""

import jax
import numpy as np
import pytest

from gen_jax.data import load_dataset
from gen_jax.metrics import corruptions as C
from gen_jax.metrics.feature_nets import feature_stats, load_feature_net
from gen_jax.metrics.frechet import frechet_distance
from gen_jax.utils.images import to_uint8

NUM_TRAIN, NUM_TEST = 3000, 1000
CASES = [("blur", 0.5), ("blur", 0.8), ("blur", 1.2), ("noise", 8), ("noise", 16), ("noise", 32),
         ("shift", 1)]


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist", "cifar10"])
def test_default_feature_net_passes_the_sensitivity_bars(dataset, shared_data):
    folder = shared_data / {"cifar10": "cifar10_jpeg"}.get(dataset, dataset)
    if not folder.is_dir():
        pytest.fail(f"needs {folder}")
    rng = np.random.default_rng(0)
    train = load_dataset(dataset, str(shared_data), "train").images
    test = load_dataset(dataset, str(shared_data), "test").images
    x_train = to_uint8(train[rng.choice(len(train), NUM_TRAIN, replace=False)])
    x_test = to_uint8(test[rng.choice(len(test), NUM_TEST, replace=False)])
    net = load_feature_net(dataset)
    mu_r, sigma_r, _ = feature_stats(net, x_train)

    def fid(x):
        mu, sigma, _ = feature_stats(net, x)
        return frechet_distance(mu, sigma, mu_r, sigma_r)

    key = jax.random.PRNGKey(0)
    fids = {(f, s): fid(C.corrupt(f, s, x_test, None, key)) for f, s in CASES}
    bars = C.check_bars(fid(x_test), fids)
    assert bars["blur_0.8_pass"] and bars["noise_16_pass"], bars
    assert bars["monotone_blur"] and bars["monotone_noise"], (bars, fids)
    if dataset == "fashion_mnist":
        # The known failure (module docstring).
        assert bars["shift_1_ratio"] > 2.0, bars
    else:
        assert bars["shift_1_pass"], bars
