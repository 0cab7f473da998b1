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
    plus extras[k][idx] under each key k of extras (per-example arrays, e.g. reflow's "noise")."""
    idx = sampler.indices(step, rows)
    batch = {"image": images[idx]}
    if labels is not None:
        batch["label"] = labels[idx].astype(np.int32)
    for k, v in (extras or {}).items():
        batch[k] = v[idx]
    return batch


def batch_iterator(images, labels: np.ndarray | None, batch_size: int, seed: int, rows: slice,
                   start: int, end: int, extras: dict | None = None):
    """This process's `rows` of global batches start .. end-1, in order: from host arrays via
    batch_at, or streamed by `images.batches` (gen_jax.data.stream.PreparedImages, grain)."""
    if hasattr(images, "batches"):
        if extras:
            raise ValueError(f"per-example extras ({sorted(extras)}) need in-memory images; "
                             f"a streamed dataset carries only images and labels")
        return images.batches(batch_size, seed, rows, start, end, with_labels=labels is not None)
    sampler = EpochSampler(len(images), batch_size, seed)
    return (batch_at(images, labels, sampler, step, rows, extras) for step in range(start, end))
