"""Prompt adherence without a classifier, for datasets whose captions name single images (the
emoji): retrieval among the prompted images. Used by experiments/bench_text.py."""

from __future__ import annotations

import numpy as np

from gen_jax.data import load_dataset


def _thumbnails(images, size: int = 16) -> np.ndarray:
    """[N, H, W, C] (uint8 or [-1, 1]) -> [N, size*size*C] box-downsampled, in [-1, 1]."""
    x = np.asarray(images)
    x = x.astype(np.float32) / 127.5 - 1.0 if x.dtype == np.uint8 else x.astype(np.float32)
    n, h, w, ch = x.shape
    if h % size or w % size:
        raise ValueError(f"images {h}x{w} do not box-downsample to {size}x{size}")
    return x.reshape(n, size, h // size, size, w // size, ch).mean((2, 4)).reshape(n, -1)


class RetrievalJudge:
    """Adherence without a classifier, for datasets whose captions name single images (the emoji):
    a sample adheres when, of the K prompted images, the nearest to it (Euclidean distance of 16x16
    box-downsampled RGB) is its own prompt's. Chance is 1/K."""

    template = "{}"

    def __init__(self, dataset: str, data_dir, prompts):
        from gen_jax.data.captions import dataset_captions

        ds = load_dataset(dataset, data_dir, "train")
        captions = dataset_captions(ds, data_dir)
        index = {}
        for i, caption in enumerate(captions):
            index.setdefault(caption, i)
        missing = [p for p in prompts if p not in index]
        if missing:
            raise ValueError(f"prompts {missing} name no {dataset} image (captions are the "
                             f"emoji's Unicode names, e.g. {captions[0]!r})")
        if len(set(prompts)) < 2:
            raise ValueError(f"need at least 2 different emoji names, got {list(prompts)}")
        self.images = ds.images[[index[p] for p in prompts]]
        self.targets = _thumbnails(self.images)
        self.name = (f"nearest of the {len(prompts)} prompted emoji (Euclidean distance of 16x16 "
                     f"box-downsampled RGB)")

    def predict(self, images):
        f = _thumbnails(images)
        d = (f * f).sum(1)[:, None] - 2 * f @ self.targets.T + (self.targets ** 2).sum(1)[None]
        return np.argmin(d, axis=1)
