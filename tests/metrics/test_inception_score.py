import numpy as np
import pytest
import scipy.special

from gen_jax.metrics import inception_score


def test_uniform_predictions_score_one():
    mean, std = inception_score(np.full((100, 10), 0.1))
    assert mean == pytest.approx(1.0, abs=1e-12) and std < 1e-12


def test_confident_predictions_spread_over_k_classes_score_k():
    k = 7
    probs = np.eye(k)[np.arange(70) % k]  # one-hot, classes in turn
    mean, std = inception_score(probs, num_splits=5)  # splits of 14 rows: every class twice
    assert mean == pytest.approx(k, rel=1e-12) and std < 1e-12


def test_logits_and_their_softmax_agree():
    logits = np.random.default_rng(0).normal(size=(60, 5)) * 3
    assert inception_score(logits, num_splits=3, from_logits=True) == pytest.approx(
        inception_score(scipy.special.softmax(logits, 1), num_splits=3), rel=1e-12)


def test_matches_the_formula_written_out():
    p = np.random.default_rng(1).dirichlet(np.full(6, 0.3), size=90)
    scores = []
    for part in np.split(p, 3):
        p_y = part.mean(0)
        scores.append(np.exp(np.mean([np.sum(q * np.log(q / p_y)) for q in part])))
    mean, std = inception_score(p, num_splits=3)
    assert mean == pytest.approx(np.mean(scores), rel=1e-12)
    assert std == pytest.approx(np.std(scores), rel=1e-9)
