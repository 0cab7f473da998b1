"""Paired datasets: (noise z, sample x) couplings drawn from a trained flow (reflow, Liu et al.
2022), stored as .npz and read back as an ImageDataset whose extras the training loop batches."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from gen_jax.data.registry import ImageDataset


@dataclasses.dataclass(frozen=True)
class PairDataset(ImageDataset):
    """An ImageDataset (images = the flow's samples x) with extras {"noise": z [N, H, W, C]} that
    the training loop batches alongside."""

    extras: dict | None = None


def save_pairs(path: str, z, x, labels, dataset: str, num_classes: int | None):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    extra = {} if labels is None else {"label": labels}
    np.savez(path, noise=z.astype(np.float32), image=x.astype(np.float32), dataset=dataset,
             num_classes=-1 if num_classes is None else num_classes, **extra)
    return path


def load_pairs(path: str, name: str | None = None) -> PairDataset:
    """The .npz of save_pairs as a PairDataset named after the flow's dataset (for its feature
    network). name, when given, must match it (config.data.name)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"config.data.pairs: {path} not found; write it with "
                                f"python -m experiments.reflow --workdir=TRAINED_FLOW --out={path}")
    z = np.load(path)
    for k in ("noise", "image", "dataset"):
        if k not in z:
            raise ValueError(f"config.data.pairs: {path} has no {k!r} array (not written by experiments.reflow)")
    dataset = str(z["dataset"])
    if name and name != dataset:
        raise ValueError(f"config.data.name: {name!r}, but the pairs in {path} were drawn from a flow "
                         f"trained on {dataset!r}")
    images, noise = z["image"], z["noise"]
    if images.shape != noise.shape:
        raise ValueError(f"config.data.pairs: {path} has images {images.shape} but noise {noise.shape}")
    nc = int(z["num_classes"])
    labels = z["label"] if "label" in z else None
    return PairDataset(images=images, labels=labels, num_classes=nc if nc > 0 else None, name=dataset,
                       extras={"noise": noise})


