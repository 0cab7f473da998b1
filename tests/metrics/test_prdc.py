import numpy as np
import pytest

from gen_jax.metrics import prdc


def _prdc_numpy(real, fake, k):
    """The reference formulas (clovaai/generative-evaluation-prdc) on float64 distance matrices."""
    dist = lambda x, y: np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))  # noqa: E731
    r_real = np.sort(dist(real, real), 1)[:, k]  # column 0 is the point itself
    r_fake = np.sort(dist(fake, fake), 1)[:, k]
    d = dist(real, fake)
    return dict(
        precision=(d < r_real[:, None]).any(0).mean(),
        recall=(d < r_fake[None, :]).any(1).mean(),
        density=(d < r_real[:, None]).sum(0).mean() / k,
        coverage=(d.min(1) < r_real).mean(),
    )


def test_matches_numpy_reference():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 8)), rng.normal(size=(250, 8)) * 1.3 + 0.4
    got = prdc(real, fake, k=3, block=64)  # blocks that do not divide N
    want = _prdc_numpy(real, fake, 3)
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-6), name


def test_fake_equal_to_real_gives_full_precision_and_recall():
    real = np.random.default_rng(1).normal(size=(200, 16)) + 50.0  # large offset: self-distance ~0
    r = prdc(real, real.copy(), k=3)
    assert r["precision"] == 1.0 and r["recall"] == 1.0 and r["coverage"] == 1.0
    # Each strict real ball holds its centre and k − 1 neighbours: N·k hits over N·k, density 1.
    assert r["density"] == pytest.approx(1.0, abs=1e-9)


def test_fake_far_away_gives_zero():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(200, 16)), rng.normal(size=(200, 16)) + 100.0
    assert prdc(real, fake, k=3) == dict(precision=0.0, recall=0.0, density=0.0, coverage=0.0)


def test_duplicate_points_give_zero_radius():
    """With each real point duplicated k+1 times, the k-th neighbour is a copy at distance 0: no
    strict ball contains anything, so precision is 0 even for fake = real."""
    real = np.repeat(np.random.default_rng(3).normal(size=(20, 4)), 4, axis=0)
    assert prdc(real, real, k=3)["precision"] == 0.0
