"""Datasets by name: an explicit registry from name to loader(data_dir, split) -> ImageDataset.

| name | source | shape | train / test |
| --- | --- | --- | --- |
| digits | scikit-learn's bundled load_digits (no files) | [N, 8, 8, 1] | all 1797 / every 5th (360), a subset of train |
| mnist, fashion_mnist | <dir>/{mnist,fashion_mnist}/*-idx?-ubyte[.gz] | [N, 28, 28, 1] | 60000 / 10000 |
| cifar10 | <dir>/cifar10_jpeg/cifar10_jpeg.npz | [N, 32, 32, 3] | 50000 / 10000 |
| emoji | <dir>/noto_emoji/noto_emoji64.npz, on white | [N, 64, 64, 3] | all 3786 / every 10th (379), a subset of train |
| emoji32 | the same emoji, each 2x2 block averaged (a CPU-sized variant) | [N, 32, 32, 3] | as emoji |
| mnist_mnistm, mnist_fashion | CycleGAN's unpaired pairs, two domains stacked in channels (data/unpaired.py) | [N, 28, 28, 6], [N, 28, 28, 2] | 10000 / 2000, 60000 / 10000 |
| moving_mnist | clips generated from mnist (data/moving_mnist.py): 2 digits bouncing | [N, 16, 64, 64, 1] | 1000 / 200 clips |
| moving_mnist_small | the CPU-sized variant: 1 digit | [N, 8, 32, 32, 1] | 6000 / 1000 clips |
| moving_digits | digits' 8×8 images moving on 16×16 (no files) | [N, 4, 16, 16, 1] | 1000 / 200 clips |
| tfds:NAME | tensorflow_datasets (needs tensorflow + network) | as TFDS | TFDS splits |
| folder:PATH | a directory written by experiments.prepare_data, streamed (gen_jax.data.stream) | as prepared | the one prepared set |

digits and emoji have no official test split: their "test" is a fixed subset of the training
images (reference statistics for metrics), not a holdout. Loading is deterministic.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np

from gen_jax.data import moving_mnist, readers

ENV_DATA_DIR = "GEN_JAX_DATA_DIR"
SPLITS = ("train", "test")


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    images: np.ndarray                      # float32 [N, H, W, C] in [-1, 1]
    labels: np.ndarray | None               # int32 [N], or None for unlabelled data
    num_classes: int | None
    name: str
    class_names: tuple[str, ...] | None = None


def resolve_data_dir(data_dir: str | None) -> str | None:
    """The flag value, else $GEN_JAX_DATA_DIR, else None ("" counts as unset)."""
    return data_dir or os.environ.get(ENV_DATA_DIR) or None


def _scale(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 [-1, 1]."""
    return images_uint8.astype(np.float32) / 127.5 - 1.0


def _check_split(name: str, split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"dataset {name!r}: unknown split {split!r}; expected one of {SPLITS}")


def _find(name: str, data_dir: str | None, sub: str, files: list[str]) -> list[str]:
    """Paths of `files` in <data_dir>/<sub>/ (a `.gz` name also matches its uncompressed file),
    or a FileNotFoundError saying what was looked for where and how to point at it."""
    hint = (f"pass --config.data.dir=PATH (or set ${ENV_DATA_DIR}) to the folder that contains "
            f"{sub}/, e.g. ../shared/data")
    data_dir = resolve_data_dir(data_dir)
    if data_dir is None:
        raise FileNotFoundError(f"dataset {name!r} needs a data directory holding {sub}/ with "
                                f"{', '.join(files)}; {hint}")
    folder = os.path.abspath(os.path.join(data_dir, sub))
    paths, missing = [], []
    for f in files:
        p = os.path.join(folder, f)
        alt = p.removesuffix(".gz")
        paths.append(p if os.path.exists(p) else alt)
        if not os.path.exists(paths[-1]):
            missing.append(f)
    if missing:
        where = folder if os.path.isdir(folder) else f"{folder} (no such directory)"
        raise FileNotFoundError(f"dataset {name!r}: missing {', '.join(missing)} in {where}; "
                                f"expected {', '.join(files)}; {hint}")
    return paths


def load_digits(data_dir: str | None = None, split: str = "train") -> ImageDataset:
    """scikit-learn's bundled 8×8 digits (values 0..16, 10 classes): the embedded default.
    train: all 1797 images; test: every 5th image (index % 5 == 0, 360), a subset of train."""
    from sklearn.datasets import load_digits as sk_load_digits

    _check_split("digits", split)
    d = sk_load_digits()
    keep = slice(None) if split == "train" else slice(None, None, 5)
    images = (d.images[keep, :, :, None] / 8.0 - 1.0).astype(np.float32)
    return ImageDataset(images, d.target[keep].astype(np.int32), 10, "digits",
                        tuple(str(i) for i in range(10)))


def _idx_loader(name: str, class_names: tuple[str, ...]) -> Callable[..., ImageDataset]:
    def load(data_dir: str | None = None, split: str = "train") -> ImageDataset:
        _check_split(name, split)
        prefix = "train" if split == "train" else "t10k"
        img_path, lbl_path = _find(name, data_dir, name, [f"{prefix}-images-idx3-ubyte.gz",
                                                          f"{prefix}-labels-idx1-ubyte.gz"])
        images, labels = readers.read_idx(img_path, ndim=3), readers.read_idx(lbl_path, ndim=1)
        if images.dtype != np.uint8 or len(images) != len(labels):
            raise ValueError(f"dataset {name!r}: {img_path} ({images.dtype}{images.shape}) and "
                             f"{lbl_path} ({labels.shape}) do not match; expected uint8 [N, H, W] "
                             f"images and N labels")
        if labels.size and not 0 <= labels.min() <= labels.max() < len(class_names):
            raise ValueError(f"dataset {name!r}: {lbl_path} has labels in [{labels.min()}, "
                             f"{labels.max()}], expected 0..{len(class_names) - 1}")
        return ImageDataset(_scale(images)[..., None], labels.astype(np.int32), len(class_names),
                            name, class_names)

    load.__doc__ = f"{name}: IDX files in <data_dir>/{name}/, [N, 28, 28, 1]."
    return load


def load_cifar10(data_dir: str | None = None, split: str = "train",
                 limit: int | None = None) -> ImageDataset:
    """CIFAR-10 re-encoded as JPEG (see ../shared/data/README.md), [N, 32, 32, 3].

    The full decode is cached (readers.cached, $GEN_JAX_CACHE_DIR); `limit` decodes only the
    first `limit` images, uncached (the file is sorted by class, so these are all class 0)."""
    _check_split("cifar10", split)
    (path,) = _find("cifar10", data_dir, "cifar10_jpeg", ["cifar10_jpeg.npz"])
    if limit is None:
        images = readers.cached(path, f"cifar10-{split}", lambda: readers.read_cifar10_npz(path, split)[0])
        with np.load(path, allow_pickle=False) as z:  # the small arrays; read_cifar10_npz checked them
            labels, names = z[f"{split}_labels"], tuple(str(s) for s in z["class_names"])
        if len(images) != len(labels):
            raise ValueError(f"dataset 'cifar10': {len(images)} cached images but {len(labels)} "
                             f"labels in {path}; delete the cache in {readers.cache_dir()}")
    else:
        images, labels, names = readers.read_cifar10_npz(path, split, limit)
    return ImageDataset(_scale(images), labels.astype(np.int32), len(names), "cifar10", names)


def load_emoji(data_dir: str | None = None, split: str = "train") -> ImageDataset:
    """Noto emoji composited on white, [N, 64, 64, 3], labels = 10 categories.
    train: all 3786; test: every 10th (index % 10 == 0, 379), a subset of train."""
    _check_split("emoji", split)
    (path,) = _find("emoji", data_dir, "noto_emoji", ["noto_emoji64.npz"])
    rgb, category, names = readers.read_emoji_npz(path)
    keep = slice(None) if split == "train" else slice(None, None, 10)
    return ImageDataset(_scale(rgb[keep]), category[keep].astype(np.int32), len(names), "emoji", names)


def load_emoji32(data_dir: str | None = None, split: str = "train") -> ImageDataset:
    """The emoji at 32x32: every 2x2 block of load_emoji's images averaged (same order, labels and
    splits; the captions are the same Unicode names)."""
    ds = load_emoji(data_dir, split)
    n, h, w, c = ds.images.shape
    small = ds.images.reshape(n, h // 2, 2, w // 2, 2, c).mean((2, 4), dtype=np.float32)
    return dataclasses.replace(ds, images=small, name="emoji32")


def load_tfds(name: str, split: str = "train") -> ImageDataset:
    """Any TFDS dataset with an 'image' feature, via tensorflow_datasets (imported here, lazily).

    TFDS keeps its own cache ($TFDS_DATA_DIR or ~/tensorflow_datasets), never the data dir."""
    offline = (f"offline, use a data-directory dataset ({', '.join(sorted(DATASETS))}) with "
               f"--config.data.dir=PATH or ${ENV_DATA_DIR}")
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise RuntimeError(f"dataset 'tfds:{name}' needs tensorflow-datasets and tensorflow "
                           f"(pip install -e '.[tfds]'), which are not importable ({e}); {offline}") from e
    try:
        ds, info = tfds.load(name, split=split, batch_size=-1, with_info=True)
        ds = tfds.as_numpy(ds)
    except Exception as e:  # noqa: BLE001 -- TFDS raises many types (no tf, no network, bad name)
        raise RuntimeError(f"dataset 'tfds:{name}' could not be loaded ({type(e).__name__}: {e}); "
                           f"TFDS needs tensorflow and, the first time, a network; {offline}") from e
    if "image" not in ds:
        raise ValueError(f"dataset 'tfds:{name}' has no 'image' feature (found {sorted(ds)})")
    label = info.features["label"] if "label" in ds else None
    names = tuple(label.names) if label is not None and hasattr(label, "names") else None
    return ImageDataset(_scale(ds["image"]), None if label is None else ds["label"].astype(np.int32),
                        None if label is None else int(label.num_classes), f"tfds:{name}", names)


def _unpaired(name: str) -> Callable[..., ImageDataset]:
    """The loader of CycleGAN's unpaired dataset `name` (gen_jax/data/unpaired.py, imported when
    called: it builds on this module)."""
    def load(data_dir: str | None = None, split: str = "train") -> ImageDataset:
        from gen_jax.data.unpaired import PAIRS
        return PAIRS[name][0](data_dir, split)

    return load


FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")
DATASETS: dict[str, Callable[..., ImageDataset]] = {
    "digits": load_digits,
    "mnist": _idx_loader("mnist", tuple(str(i) for i in range(10))),
    "fashion_mnist": _idx_loader("fashion_mnist", FASHION_MNIST_CLASSES),
    "cifar10": load_cifar10,
    "emoji": load_emoji,
    "emoji32": load_emoji32,
    "mnist_mnistm": _unpaired("mnist_mnistm"),    # CycleGAN's unpaired MNIST | MNIST-M
    "mnist_fashion": _unpaired("mnist_fashion"),  # CycleGAN's unpaired MNIST | Fashion-MNIST
    "moving_mnist": moving_mnist.loader("standard"),
    "moving_mnist_small": moving_mnist.loader("small"),
    "moving_digits": moving_mnist.loader("digits"),
}


def load_dataset(name: str, data_dir: str | None = None, split: str = "train") -> ImageDataset:
    """Load a dataset by name (a key of DATASETS, 'tfds:NAME' or 'folder:PATH'); data_dir falls
    back to $GEN_JAX_DATA_DIR. Images float32 [N, H, W, C] in [-1, 1] (for folder:PATH a lazy
    PreparedImages that reads records on indexing)."""
    if name.startswith("tfds:"):
        return load_tfds(name[len("tfds:"):], split)
    if name.startswith("folder:"):  # images stay on disk; no augmentation (see stream.open_prepared)
        from gen_jax.data.stream import open_prepared
        return open_prepared(name[len("folder:"):])
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}, 'tfds:NAME' "
                         f"or 'folder:PATH' (a directory written by experiments.prepare_data)")
    return DATASETS[name](data_dir, split)
