"""Batches as a pure function of (seed, step): the example order does not depend on the number
of devices or processes, and a resumed run sees exactly the batches it would have seen."""

from __future__ import annotations

import numpy as np


class EpochSampler:
    """Global batch `step` = examples [step·B, (step+1)·B) of an endless stream of epochs, each
    epoch a permutation of the N examples drawn from np.random.default_rng([seed, epoch])."""

    def __init__(self, num_examples: int, global_batch: int, seed: int = 0, shuffle: bool = True):
        if num_examples < 1:
            raise ValueError("the dataset is empty")
        if global_batch < 1:
            raise ValueError(f"batch size must be >= 1, got {global_batch}")
        self.n, self.batch, self.seed, self.shuffle = num_examples, global_batch, seed, shuffle
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) > 4:
                self._perms.pop(min(self._perms))
            self._perms[epoch] = (np.random.default_rng([self.seed, epoch]).permutation(self.n)
                                  if self.shuffle else np.arange(self.n))
        return self._perms[epoch]

    def indices(self, step: int, rows: slice = slice(None)) -> np.ndarray:
        """Dataset indices of global batch `step` (optionally only `rows` of it)."""
        g = np.arange(step * self.batch, (step + 1) * self.batch, dtype=np.int64)[rows]
        epochs, pos = g // self.n, g % self.n
        out = np.empty_like(g)
        for e in np.unique(epochs):
            m = epochs == e
            out[m] = self._perm(int(e))[pos[m]]
        return out


def batch_at(images: np.ndarray, labels: np.ndarray | None, sampler: EpochSampler, step: int,
             rows: slice = slice(None), extras: dict | None = None) -> dict:
    """{"image": [b, H, W, C] float32, "label": [b] int32 (if labels)} for global batch `step`,
    plus extras[name][idx] for each per-example array [N, ...] in extras (e.g. "tokens")."""
    idx = sampler.indices(step, rows)
    batch = {"image": images[idx]}
    if labels is not None:
        batch["label"] = labels[idx].astype(np.int32)
    for name, values in (extras or {}).items():
        batch[name] = values[idx]
    return batch
