"""Class coverage of generated samples, a mode-collapse report from a classifier's predictions."""

from __future__ import annotations

import numpy as np


def class_coverage(pred_labels, num_classes: int) -> dict:
    """Histogram of predicted labels [N] in [0, K) and how evenly they cover the K classes.

    normalized_entropy: H(counts / N) / log K (1.0 = uniform, 0.0 = one class; 1.0 when K = 1).
    rarest_share: min count / N (0.0 when a class is missing). missing_classes: labels never seen.
    """
    labels = np.asarray(pred_labels).reshape(-1)
    if labels.size == 0:
        raise ValueError("class_coverage needs at least one label; got none")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"pred_labels must be integers; got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"pred_labels must lie in [0, {num_classes}); found values in "
                         f"[{labels.min()}, {labels.max()}]")
    counts = np.bincount(labels, minlength=num_classes)
    share = counts / labels.size
    nz = share[share > 0]
    entropy = float(-(nz * np.log(nz)).sum())
    return dict(
        histogram=counts.tolist(),
        normalized_entropy=float(entropy / np.log(num_classes)) if num_classes > 1 else 1.0,
        rarest_share=float(share.min()),
        missing_classes=np.flatnonzero(counts == 0).tolist(),
    )
