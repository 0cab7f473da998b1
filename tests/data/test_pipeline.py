import numpy as np

from gen_jax.data.pipeline import EpochSampler, batch_at


def test_each_epoch_is_a_permutation_and_order_depends_only_on_seed_and_step():
    s = EpochSampler(10, 4, seed=3)
    stream = np.concatenate([s.indices(k) for k in range(5)])  # 20 = two epochs
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:]) == list(range(10))
    assert not np.array_equal(stream[:10], stream[10:])
    fresh = EpochSampler(10, 4, seed=3)
    np.testing.assert_array_equal(fresh.indices(3), s.indices(3))  # random access, no state
    assert not np.array_equal(EpochSampler(10, 4, seed=4).indices(0), s.indices(0))


def test_process_rows_concatenate_to_the_global_batch():
    s = EpochSampler(100, 8, seed=0)
    parts = [s.indices(7, slice(p * 2, (p + 1) * 2)) for p in range(4)]
    np.testing.assert_array_equal(np.concatenate(parts), s.indices(7))


def test_batch_at_returns_images_and_int32_labels():
    images = np.arange(10, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 1), np.float32)
    b = batch_at(images, np.arange(10), EpochSampler(10, 4, shuffle=False), 1)
    np.testing.assert_array_equal(b["image"][:, 0, 0, 0], [4, 5, 6, 7])
    assert b["label"].dtype == np.int32
