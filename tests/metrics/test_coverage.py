import numpy as np
import pytest

from gen_jax.metrics import class_coverage


def test_one_class_only():
    r = class_coverage(np.full(50, 3), 10)
    assert r["normalized_entropy"] == 0.0
    assert r["missing_classes"] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert r["rarest_share"] == 0.0 and r["histogram"][3] == 50 and sum(r["histogram"]) == 50


def test_uniform_labels():
    r = class_coverage(np.arange(100) % 10, 10)
    assert r["normalized_entropy"] == pytest.approx(1.0, abs=1e-12)
    assert r["missing_classes"] == [] and r["rarest_share"] == 0.1 and r["histogram"] == [10] * 10


def test_two_equal_classes_of_four_have_half_the_entropy():
    r = class_coverage(np.array([0, 1] * 20), 4)
    assert r["normalized_entropy"] == pytest.approx(0.5, abs=1e-12)  # log 2 / log 4


def test_out_of_range_label_is_named():
    with pytest.raises(ValueError, match=r"must lie in \[0, 10\); found values in \[0, 10\]"):
        class_coverage(np.array([0, 10]), 10)
