"""CycleGAN: losses (zero cycle/identity for identity generators), LSGAN values, the history
pool, one jitted step of the objective, the two unpaired pairs, the smoke configs on MNIST <->
MNIST-M and MNIST <-> Fashion-MNIST, and the benchmark's class matching."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.gan.cyclegan import (CycleGANObjective, cycle_and_identity, lsgan_d_loss, lsgan_g_loss,
                                  pool_query)
from gen_jax.nn.cyclegan import PatchDiscriminator, ResnetGenerator
from gen_jax.train.state import make_optimizer


def test_cycle_and_identity_losses_are_zero_for_identity_generators_on_identical_domains():
    x = jax.random.uniform(jax.random.PRNGKey(0), (3, 8, 8, 3), minval=-1, maxval=1)
    ident = lambda y: y  # noqa: E731
    fake_a, fake_b, cycle, identity = cycle_and_identity(ident, ident, x, x)
    assert float(cycle) == 0.0 and float(identity) == 0.0
    np.testing.assert_array_equal(fake_b, x)
    # a generator that adds 0.1: each cycle term is 0.2 (two passes), each identity term 0.1
    shift = lambda y: y + 0.1  # noqa: E731
    _, _, cycle, identity = cycle_and_identity(shift, shift, x, x)
    np.testing.assert_allclose([cycle, identity], [0.4, 0.2], rtol=1e-5)


def test_lsgan_losses_known_values():
    ones, zeros = jnp.ones((2, 3, 3, 1)), jnp.zeros((2, 3, 3, 1))
    assert float(lsgan_d_loss(ones, zeros)) == 0.0 and float(lsgan_g_loss(ones)) == 0.0
    np.testing.assert_allclose(lsgan_d_loss(zeros, ones), 1.0)  # ½(1 + 1)
    np.testing.assert_allclose(lsgan_g_loss(zeros), 1.0)


def test_history_pool_fills_then_mixes_stored_and_new_images():
    pool, count = jnp.zeros((3, 1)), jnp.zeros((), jnp.int32)
    first = jnp.arange(1.0, 3.0)[:, None]              # 2 images: the pool is not full
    out, pool, count = pool_query(pool, count, first, jax.random.PRNGKey(0))
    np.testing.assert_array_equal(out, first)
    assert int(count) == 2
    seen = {1.0, 2.0}
    for i in range(6):
        new = jnp.arange(10.0 * (i + 1), 10.0 * (i + 1) + 4)[:, None]
        out, pool, count = pool_query(pool, count, new, jax.random.PRNGKey(i + 1))
        assert set(np.asarray(out)[:, 0]) <= seen | set(np.asarray(new)[:, 0])
        seen |= set(np.asarray(new)[:, 0])
        assert int(count) == 3 and set(np.asarray(pool)[:, 0]) <= seen
    stored = np.asarray(pool)[:, 0]
    assert len(set(stored)) == 3 and not set(stored) <= {1.0, 2.0}  # old images were replaced


@pytest.fixture(scope="module")
def tiny():
    tx, lr = make_optimizer(1e-3, grad_clip=None, b1=0.5)
    obj = CycleGANObjective(generator=ResnetGenerator(3, 4, 1), discriminator=PatchDiscriminator(4, 1),
                            image_shape=(8, 8, 3), tx_g=tx, tx_d=tx, lr_schedule_g=lr,
                            lr_schedule_d=lr, pool_size=4)
    return obj, jax.jit(obj.init)(jax.random.PRNGKey(0))


def test_one_jitted_step_updates_both_players_and_the_pool(tiny):
    obj, state = tiny
    x = jax.random.uniform(jax.random.PRNGKey(1), (2, 8, 8, 6), minval=-1, maxval=1)
    new, m = jax.jit(obj.step)(state, {"image": x})
    assert int(new.step) == 1 and int(new.pool["count_a"]) == 2
    for name in ("g_ab", "g_ba", "d_a", "d_b"):
        moved = jax.tree.map(lambda p, q: float(jnp.max(jnp.abs(p - q))), state.params[name], new.params[name])
        assert max(jax.tree.leaves(moved)) > 0, name
    assert all(np.isfinite(float(v)) for v in m.values())
    y = obj.sample(new.ema_params, jax.random.PRNGKey(0), images=x[..., :3], direction="b2a")
    assert y.shape == (2, 8, 8, 3) and float(jnp.max(jnp.abs(y))) <= 1.0
    with pytest.raises(TypeError, match="'labels'"):
        obj.sample(new.ema_params, jax.random.PRNGKey(0), images=x[..., :3], labels=None)
    with pytest.raises(ValueError, match="needs images"):
        obj.sample(new.ema_params, jax.random.PRNGKey(0), 2)


def test_mnist_m_blend_and_smoke_config(shared_data, tmp_path):
    from gen_jax.data.mnist_m import blend

    np.testing.assert_array_equal(blend(np.array([[[0, 255]]], np.uint8),
                                        np.array([[[[10, 20, 30], [200, 0, 255]]]], np.uint8)),
                                  [[[[10, 20, 30], [55, 255, 0]]]])
    if not (shared_data / "mnist").is_dir() or not (shared_data / "cifar10_jpeg").is_dir():
        pytest.fail(f"MNIST / CIFAR-10 not found under {shared_data}")
    from experiments.configs import cyclegan_mnist
    from experiments.train import run
    from gen_jax.data import load_dataset

    from gen_jax.data.mnist_m import load_mnist_m

    ds = load_dataset("mnist_mnistm", str(shared_data), "test")
    assert ds.images.shape == (2000, 28, 28, 6) and ds.images.dtype == np.float32
    again = load_mnist_m(str(shared_data), "test", 2020)  # deterministic: the same backgrounds
    np.testing.assert_array_equal(ds.images[:20, ..., 3:], again.images[2000:])
    # domain A is grey; domain B is coloured
    assert np.all(ds.images[..., 0] == ds.images[..., 2]) and np.std(ds.images[..., 3:] - ds.images[..., 4:5]) > 0.05
    c = cyclegan_mnist.get_config("smoke")
    c.data.dir = str(shared_data)
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2


def test_mnist_fashion_pair_is_deterministic_and_shaped(shared_data):
    if not (shared_data / "mnist").is_dir() or not (shared_data / "fashion_mnist").is_dir():
        pytest.fail(f"MNIST / Fashion-MNIST not found under {shared_data}")
    from gen_jax.data import load_dataset
    from gen_jax.data.unpaired import FASHION_SEEDS, domain_labels

    d = str(shared_data)
    ds, again = load_dataset("mnist_fashion", d, "test"), load_dataset("mnist_fashion", d, "test")
    assert ds.images.shape == (10000, 28, 28, 2) and ds.images.dtype == np.float32 and ds.num_classes == 10
    np.testing.assert_array_equal(ds.images, again.images)
    mnist, fashion = load_dataset("mnist", d, "test"), load_dataset("fashion_mnist", d, "test")
    perm = np.random.default_rng(FASHION_SEEDS["test"]).permutation(10000)
    np.testing.assert_array_equal(ds.images[..., :1], mnist.images)
    np.testing.assert_array_equal(ds.images[..., 1:], fashion.images[perm])
    la, lb = domain_labels("mnist_fashion", d, "test")
    np.testing.assert_array_equal(la, ds.labels)
    np.testing.assert_array_equal(lb, fashion.labels[perm])
    assert not np.array_equal(perm, np.arange(10000))  # B's rows are not in file order
    assert load_dataset("mnist_fashion", d, "train").images.shape == (60000, 28, 28, 2)
    with pytest.raises(ValueError, match="not an unpaired"):
        domain_labels("mnist", d, "test")


def test_fashion_smoke_config_trains_two_steps(shared_data, tmp_path):
    if not (shared_data / "fashion_mnist").is_dir():
        pytest.fail(f"Fashion-MNIST not found under {shared_data}")
    from experiments.configs import cyclegan_mnist
    from experiments.train import run

    c = cyclegan_mnist.get_config("fashion_smoke")
    c.data.dir = str(shared_data)
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2 and state.pool["a"].shape[1:] == (28, 28, 1)


def test_class_match_is_one_for_any_relabelling():
    from experiments.bench_cyclegan import matched_accuracy

    src = np.arange(100) % 10
    assert matched_accuracy(src, (src * 3 + 1) % 10) == 1.0  # a permutation of the classes
    assert matched_accuracy(src, np.zeros(100, int)) == 0.1  # everything to one class
    pred = src.copy()
    pred[:5] = 9  # five of the images of classes 0-4 go elsewhere
    assert matched_accuracy(src, pred) == 0.95
