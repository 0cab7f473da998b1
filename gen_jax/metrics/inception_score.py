"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))), mean and std over splits."""

from __future__ import annotations

import numpy as np
import scipy.special


def inception_score(probs_or_logits, *, num_splits: int = 10, from_logits: bool = False):
    """IS of class predictions [N, K] -> (mean, std) over num_splits contiguous splits.

    Splits are rows [i·N//s, (i+1)·N//s) as in the original code; p(y) is each split's mean.
    Probabilities may contain exact zeros (0·log 0 = 0).
    """
    x = np.asarray(probs_or_logits, np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected predictions [N, K]; got shape {x.shape}")
    n = x.shape[0]
    if not 1 <= num_splits <= n:
        raise ValueError(f"num_splits must be in [1, N={n}]; got {num_splits}")
    p = scipy.special.softmax(x, axis=1) if from_logits else x
    scores = []
    for i in range(num_splits):
        part = p[i * n // num_splits:(i + 1) * n // num_splits]
        p_y = part.mean(0, keepdims=True)
        # KL(p(y|x) ‖ p(y)) = Σ_y p log p − p log p(y); xlogy gives 0 where p = 0.
        kl = (scipy.special.xlogy(part, part) - scipy.special.xlogy(part, p_y)).sum(1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
