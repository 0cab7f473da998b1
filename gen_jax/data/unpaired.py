"""CycleGAN's unpaired two-domain datasets, by name: images [N, H, W, 2C], channels [:C] an image
of domain A and [C:] an unrelated image of domain B (no row is a translation pair), labels A's.

| name | A | B | shape | train / test pairs |
| --- | --- | --- | --- | --- |
| mnist_mnistm | MNIST, grey as RGB | MNIST-M (gen_jax/data/mnist_m.py) of other MNIST digits | [N, 28, 28, 6] | 10000 / 2000 |
| mnist_fashion | MNIST | Fashion-MNIST, rows in a seeded random order | [N, 28, 28, 2] | 60000 / 10000 |

`domain_labels(name, data_dir, split)` gives both halves' labels (A's [N], B's [N]), for the
measurements; training never sees labels.
"""

from __future__ import annotations

import numpy as np

from gen_jax.data import mnist_m, registry

# mnist_fashion: B's row i is Fashion-MNIST image perm[i], perm drawn from default_rng(seed) alone
FASHION_SEEDS = {"train": 20170330, "test": 20170331}


def _fashion_order(data_dir: str | None, split: str) -> tuple[registry.ImageDataset, np.ndarray]:
    fashion = registry.load_dataset("fashion_mnist", data_dir, split)
    return fashion, np.random.default_rng(FASHION_SEEDS[split]).permutation(len(fashion.images))


def load_mnist_fashion(data_dir: str | None = None, split: str = "train") -> registry.ImageDataset:
    """MNIST ↔ Fashion-MNIST: [N, 28, 28, 2], channel 0 MNIST image i, channel 1 Fashion-MNIST
    image perm[i] (a permutation seeded by FASHION_SEEDS[split]); all N images of each (60000 /
    10000). Labels are MNIST's."""
    registry._check_split("mnist_fashion", split)
    mnist = registry.load_dataset("mnist", data_dir, split)
    fashion, perm = _fashion_order(data_dir, split)
    return registry.ImageDataset(mnist_m.unpaired(mnist.images, fashion.images[perm]), mnist.labels, 10,
                                 "mnist_fashion", mnist.class_names)


def _mnist_fashion_labels(data_dir: str | None, split: str) -> tuple[np.ndarray, np.ndarray]:
    fashion, perm = _fashion_order(data_dir, split)
    return registry.load_dataset("mnist", data_dir, split).labels, fashion.labels[perm]


PAIRS = {"mnist_mnistm": (mnist_m.load_mnist_mnistm, mnist_m.domain_labels),
         "mnist_fashion": (load_mnist_fashion, _mnist_fashion_labels)}


def domain_labels(name: str, data_dir: str | None, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The labels of both halves of unpaired dataset `name`'s split: (A's [N], B's [N])."""
    if name not in PAIRS:
        raise ValueError(f"{name!r} is not an unpaired two-domain dataset; expected one of {sorted(PAIRS)}")
    registry._check_split(name, split)
    return PAIRS[name][1](data_dir, split)
