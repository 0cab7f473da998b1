"""MNIST-M (Ganin & Lempitsky 2015, sec. 5): MNIST digits blended over colour patches, here
generated deterministically from the CIFAR-10 copy in the data directory (the original used
BSDS500 photos): out = |patch − digit| per channel, so strokes invert the background's colours.

Also the unpaired two-domain datasets of CycleGAN: images [N, H, W, 2C], channels [:C] from
domain A and [C:] from domain B, the two halves being *different* source images (image i of A and
image N + i of B), so no row is a translation pair. The training loop batches them as one array.
"""

from __future__ import annotations

import io

import numpy as np

from gen_jax.data import registry

# Separate seeds per split so train and test backgrounds differ; fixed so the set is reproducible.
SEEDS = {"train": 20150526, "test": 20150527}
PAIR_SIZES = {"train": 10000, "test": 2000}  # pairs per split of the two-domain datasets


def blend(digits: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """|patch − digit| per channel: digits uint8 [N, H, W], patches uint8 [N, H, W, 3] -> uint8
    [N, H, W, 3] (MNIST-M's blending)."""
    return np.abs(patches.astype(np.int16) - digits[..., None].astype(np.int16)).astype(np.uint8)


def cifar_patches(blob: np.ndarray, offsets: np.ndarray, num: int, size: int, seed: int) -> np.ndarray:
    """num patches size x size (uint8 [num, size, size, 3]) cut at random places from random
    CIFAR-10 JPEGs blob[offsets[i]:offsets[i+1]]; patch n is drawn from
    np.random.default_rng((seed, n)) alone, so it does not depend on num."""
    from PIL import Image

    out = np.empty((num, size, size, 3), np.uint8)
    for n in range(num):
        rng = np.random.default_rng((seed, n))
        i = rng.integers(0, len(offsets) - 1)
        img = np.asarray(Image.open(io.BytesIO(blob[offsets[i]:offsets[i + 1]].tobytes())).convert("RGB"))
        y, x = rng.integers(0, img.shape[0] - size + 1), rng.integers(0, img.shape[1] - size + 1)
        out[n] = img[y:y + size, x:x + size]
    return out


def load_mnist_m(data_dir: str | None = None, split: str = "train", num: int | None = None
                 ) -> registry.ImageDataset:
    """MNIST-M from the first `num` (default all) MNIST images of `split` over CIFAR-10 patches of
    the same split: [N, 28, 28, 3] in [-1, 1], MNIST's labels."""
    mnist = registry.load_dataset("mnist", data_dir, split)
    (path,) = registry._find("cifar10", data_dir, "cifar10_jpeg", ["cifar10_jpeg.npz"])
    with np.load(path, allow_pickle=False) as z:
        blob, offsets = z[f"{split}_jpeg"], z[f"{split}_offsets"]
    n = len(mnist.images) if num is None else min(num, len(mnist.images))
    digits = np.round((mnist.images[:n, ..., 0] + 1.0) * 127.5).astype(np.uint8)
    images = blend(digits, cifar_patches(blob, offsets, n, 28, SEEDS[split]))
    return registry.ImageDataset(images.astype(np.float32) / 127.5 - 1.0, mnist.labels[:n], 10,
                                 "mnist_m", mnist.class_names)


def unpaired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Channel-stacked domains [N, H, W, Ca + Cb] from a [N, H, W, Ca] and b [N, H, W, Cb]."""
    if a.shape[:3] != b.shape[:3]:
        raise ValueError(f"unpaired domains need the same count and size; got {a.shape} and {b.shape}")
    return np.concatenate([a, b], axis=-1)


def load_mnist_mnistm(data_dir: str | None = None, split: str = "train") -> registry.ImageDataset:
    """CycleGAN's MNIST ↔ MNIST-M: [N, 28, 28, 6], channels 0-2 MNIST image i (grey in RGB),
    3-5 MNIST-M of MNIST image N + i (N = PAIR_SIZES[split]); labels are domain A's."""
    registry._check_split("mnist_mnistm", split)
    n = PAIR_SIZES[split]
    mnist_m = load_mnist_m(data_dir, split, 2 * n)
    mnist = registry.load_dataset("mnist", data_dir, split)
    a = np.repeat(mnist.images[:n], 3, axis=-1)
    return registry.ImageDataset(unpaired(a, mnist_m.images[n:2 * n]), mnist.labels[:n], 10,
                                 "mnist_mnistm", mnist.class_names)


def domain_labels(data_dir: str | None, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The labels of both halves of load_mnist_mnistm(split): (A's [N], B's [N])."""
    n = PAIR_SIZES[split]
    labels = registry.load_dataset("mnist", data_dir, split).labels
    return labels[:n], labels[n:2 * n]
