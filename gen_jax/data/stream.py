"""A streaming input pipeline on grain over prepared ArrayRecord shards (gen_jax.data.prepared).

Global batch `step` holds the examples EpochSampler(N, B, seed).indices(step) (the same order as the
in-memory path), so the batches are a function of (seed, step) alone, whatever the number of
processes, workers or threads. Each process builds a grain MapDataset over *steps*: element s reads
only this process's rows of global batch s, decodes them, augments them (random flip / crop, keyed
by (seed, global position) so by (seed, step, example)) and scales them to float32 [-1, 1]. Since a
MapDataset has random access, resuming at step s is slicing from s: the pipeline's position is the
train state's step, which the orbax checkpoint already holds, so a resumed run reads exactly the
batches an uninterrupted one would have.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Iterator

import numpy as np

from gen_jax.data import prepared
from gen_jax.data.pipeline import EpochSampler

_AUG_TAG = 0x6A5  # separates the augmentation stream from other uses of the seed


@dataclasses.dataclass(frozen=True)
class Augment:
    flip: bool = False       # random horizontal flip with probability 1/2
    crop: int = 0            # random crop to crop x crop (0: none; training images are crop x crop)

    def out_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        h, w, c = shape
        if self.crop:
            if not 0 < self.crop <= min(h, w):
                raise ValueError(f"data.crop: expected an int in [1, {min(h, w)}] (the stored images "
                                 f"are {h}x{w}), got {self.crop}")
            return self.crop, self.crop, c
        return h, w, c


def augment(x: np.ndarray, aug: Augment, seed: int, position: int) -> np.ndarray:
    """x: uint8 [H, W, C] -> uint8 [h, w, C], flipped / cropped by draws from
    default_rng([seed, tag, position]): `position` is the example's place in the global stream
    (step · B + row), so the result depends on (seed, step, example) only."""
    if not (aug.flip or aug.crop):
        return x
    rng = np.random.default_rng([seed, _AUG_TAG, position])
    if aug.crop:
        top = int(rng.integers(0, x.shape[0] - aug.crop + 1))
        left = int(rng.integers(0, x.shape[1] - aug.crop + 1))
        x = x[top:top + aug.crop, left:left + aug.crop]
    if aug.flip and rng.random() < 0.5:
        x = x[:, ::-1]
    return x


def centre_crop(x: np.ndarray, size: int) -> np.ndarray:
    """[..., H, W, C] -> [..., size, size, C], the central window (evaluation view of a cropped set)."""
    h, w = x.shape[-3:-1]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size, :]


def _scale(x: np.ndarray) -> np.ndarray:
    """uint8 -> float32 [-1, 1], bit-identical to the in-memory registry's scaling."""
    return x.astype(np.float32) / 127.5 - 1.0


class _LockedSampler(EpochSampler):
    """EpochSampler safe under grain's reader threads; picklable for its worker processes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()

    def indices(self, step, rows=slice(None)):
        with self._lock:
            return super().indices(step, rows)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_perms")}

    def __setstate__(self, d):
        self.__dict__.update(d, _lock=threading.Lock(), _perms={})


class _ReadBatch:
    """grain map: step -> this process's rows of global batch `step` ({"image", ["label"]})."""

    def __init__(self, source, labels, shape, sampler, rows, aug, seed):
        self.source, self.labels, self.shape = source, labels, shape
        self.sampler, self.rows, self.aug, self.seed = sampler, rows, aug, seed

    def __call__(self, step: int) -> dict:
        step = int(step)
        idx = self.sampler.indices(step, self.rows)
        recs = self.source.__getitems__([int(i) for i in idx])
        first = step * self.sampler.batch + (self.rows.start or 0)
        imgs = [augment(np.frombuffer(r, np.uint8).reshape(self.shape), self.aug, self.seed, first + j)
                for j, r in enumerate(recs)]
        batch = {"image": _scale(np.stack(imgs))}
        if self.labels is not None:
            batch["label"] = self.labels[idx]
        return batch


@dataclasses.dataclass
class PreparedImages:
    """A prepared directory seen as a float32 array [N, h, w, C] in [-1, 1] (lazy: `x[idx]` reads
    only those records; a cropped set shows its central crop) that also streams training batches.

    Knobs: augment (flip, crop); workers (grain worker processes, 0: decode in this process);
    threads (grain reader threads per process); prefetch (batches read ahead per process)."""

    path: str
    augment: Augment = Augment()
    workers: int = 0
    threads: int = 2
    prefetch: int = 4
    verify: bool = False     # recompute the content hash on open (a full read)

    def __post_init__(self):
        import grain

        self.meta = prepared.verify(self.path) if self.verify else prepared.read_meta(self.path)
        for field in ("workers", "threads", "prefetch"):
            v = getattr(self, field)
            if not isinstance(v, int) or v < 0:
                raise ValueError(f"data.{field}: expected an int >= 0, got {v!r}")
        self.shape = (self.meta.count, *self.augment.out_shape(self.meta.shape))
        self.dtype = np.dtype(np.float32)
        self.source = grain.sources.ArrayRecordDataSource(prepared.shard_paths(self.path, self.meta))
        if len(self.source) != self.meta.count:
            raise ValueError(f"{self.path}: shards hold {len(self.source)} records, metadata says "
                             f"{self.meta.count}")
        self.labels = prepared.read_labels(self.path, self.meta)

    def __len__(self) -> int:
        return self.meta.count

    @property
    def ndim(self) -> int:
        return 4

    def uint8(self, idx) -> np.ndarray:
        """Stored pixels of examples idx (int, slice or int array) -> uint8 [n, H, W, C]."""
        idx = np.arange(self.meta.count)[idx] if isinstance(idx, slice) else np.asarray(idx)
        flat = np.atleast_1d(idx).astype(np.int64)
        if flat.size and (flat.min() < -self.meta.count or flat.max() >= self.meta.count):
            raise IndexError(f"index out of range for {self.meta.count} images")
        flat = flat % self.meta.count
        recs = self.source.__getitems__([int(i) for i in flat])
        out = np.frombuffer(b"".join(recs), np.uint8).reshape(len(flat), *self.meta.shape)
        return out[0] if idx.ndim == 0 else out

    def __getitem__(self, idx) -> np.ndarray:
        x = self.uint8(idx)
        if self.augment.crop:
            x = centre_crop(x, self.augment.crop)
        return _scale(x)

    def __array__(self, dtype=None, copy=None):
        x = self[:]
        return x if dtype is None else x.astype(dtype)

    def dataset(self, batch_size: int, seed: int, rows: slice = slice(None), with_labels: bool = True):
        """grain MapDataset: element `step` = rows `rows` of global batch `step` (random access)."""
        import grain

        if with_labels and self.labels is None:
            raise ValueError(f"{self.path}: labels requested but the prepared set is unlabelled")
        sampler = _LockedSampler(self.meta.count, batch_size, seed)
        read = _ReadBatch(self.source, self.labels if with_labels else None, self.meta.shape,
                          sampler, rows, self.augment, seed)
        # The number of steps is unbounded; a range of 2^40 steps is as good as endless.
        return grain.MapDataset.range(0, 1 << 40).map(read)

    def batches(self, batch_size: int, seed: int, rows: slice, start: int, end: int,
                with_labels: bool = True) -> Iterator[dict]:
        """Batches of steps start .. end-1, read ahead by grain threads (and worker processes)."""
        import grain

        ds = self.dataset(batch_size, seed, rows, with_labels)[start:end]
        it_ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=self.threads,
                                                     prefetch_buffer_size=self.prefetch))
        if self.workers:
            from absl import flags

            # grain's worker processes read absl flags; outside app.run (tests, notebooks) they
            # are unparsed, and grain's documented remedy is to take the defaults.
            if not flags.FLAGS.is_parsed():
                flags.FLAGS.mark_as_parsed()
            it_ds = it_ds.mp_prefetch(grain.MultiprocessingOptions(
                num_workers=self.workers, per_worker_buffer_size=max(1, self.prefetch)))
            # Batches from workers live in shared memory: copy them out so each block is freed
            # as soon as its step is done rather than whenever the interpreter gets to it.
            return ({k: np.array(v) for k, v in b.items()} for b in it_ds)
        return iter(it_ds)


def open_prepared(path: str, *, flip: bool = False, crop: int = 0, workers: int = 0, threads: int = 2,
                  prefetch: int = 4, verify: bool = False):
    """A prepared directory as a gen_jax.data.ImageDataset whose images stream through grain."""
    from gen_jax.data.registry import ImageDataset

    images = PreparedImages(path, Augment(bool(flip), int(crop)), workers, threads, prefetch, verify)
    m = images.meta
    return ImageDataset(images, images.labels, m.num_classes if m.labels else None, m.name,
                        m.class_names if m.labels else None)
