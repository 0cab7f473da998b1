"""Datasets by name: an explicit registry from name to loader(data_dir, split) -> ImageDataset."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Callable

import numpy as np

from gen_jax.data import readers

ENV_DATA_DIR = "GEN_JAX_DATA_DIR"


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    images: np.ndarray                # float32 [N, H, W, C] in [-1, 1]
    labels: np.ndarray | None         # int32 [N]
    num_classes: int | None
    name: str
    class_names: tuple | None = None


def resolve_data_dir(data_dir: str | None) -> str | None:
    """The flag value, else $GEN_JAX_DATA_DIR, else None."""
    return data_dir or os.environ.get(ENV_DATA_DIR) or None


def _scale(images_uint8: np.ndarray) -> np.ndarray:
    return (images_uint8.astype(np.float32) / 127.5 - 1.0)


def _need_dir(name: str, data_dir: str | None, sub: str, files: list[str]) -> str:
    if data_dir is None:
        raise FileNotFoundError(
            f"dataset {name!r} needs a data directory holding {sub}/ with {', '.join(files)}; "
            f"pass --config.data.dir=PATH (e.g. ../shared/data) or set ${ENV_DATA_DIR}")
    folder = os.path.join(data_dir, sub)
    missing = [f for f in files if not os.path.exists(os.path.join(folder, f))
               and not os.path.exists(os.path.join(folder, f.removesuffix(".gz")))]
    if missing:
        raise FileNotFoundError(
            f"dataset {name!r}: missing {', '.join(missing)} in {os.path.abspath(folder)} "
            f"(expected {', '.join(files)}; set --config.data.dir or ${ENV_DATA_DIR} to the folder "
            f"that contains {sub}/)")
    return folder


def _split(split: str, allowed=("train", "test")) -> str:
    if split not in allowed:
        raise ValueError(f"unknown split {split!r}; expected one of {allowed}")
    return split


def load_digits(data_dir=None, split="train") -> ImageDataset:
    """scikit-learn's bundled 8×8 digits (1797, values 0–16): the embedded default, no files needed.
    train: all but every 5th image; test: every 5th image (index % 5 == 0)."""
    from sklearn.datasets import load_digits as sk_digits

    _split(split)
    d = sk_digits()
    keep = (np.arange(len(d.target)) % 5 == 0) == (split == "test")
    images = (d.images[keep, :, :, None] / 8.0 - 1.0).astype(np.float32)
    return ImageDataset(images, d.target[keep].astype(np.int32), 10, "digits",
                        tuple(str(i) for i in range(10)))


def _idx_dataset(name: str, sub: str, class_names):
    def load(data_dir=None, split="train") -> ImageDataset:
        prefix = "train" if _split(split) == "train" else "t10k"
        files = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
        folder = _need_dir(name, resolve_data_dir(data_dir), sub, files)

        def path(f):
            p = os.path.join(folder, f)
            return p if os.path.exists(p) else p.removesuffix(".gz")

        images, labels = readers.read_idx(path(files[0])), readers.read_idx(path(files[1]))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"dataset {name!r} in {folder}: images {images.shape} and labels "
                             f"{labels.shape} do not match (expected [N,28,28] and [N])")
        return ImageDataset(_scale(images)[..., None], labels.astype(np.int32), 10, name, class_names)

    return load


def _cached(key_path: str, tag: str, fn: Callable[[], np.ndarray]) -> np.ndarray:
    """Cache an expensive decode as .npy in readers.cache_dir(), keyed by file size and mtime."""
    st = os.stat(key_path)
    key = hashlib.sha1(f"{os.path.abspath(key_path)}:{st.st_size}:{st.st_mtime_ns}:{tag}".encode()).hexdigest()[:16]
    path = os.path.join(readers.cache_dir(), f"{tag}-{key}.npy")
    if os.path.exists(path):
        try:
            return np.load(path)
        except (OSError, ValueError):
            pass  # a broken cache file is rebuilt
    arr = fn()
    try:
        os.makedirs(readers.cache_dir(), exist_ok=True)
        tmp = path + f".tmp{os.getpid()}.npy"
        np.save(tmp, arr)
        os.replace(tmp, path)
    except OSError:
        pass
    return arr


def load_cifar10(data_dir=None, split="train", limit: int | None = None) -> ImageDataset:
    files = ["cifar10_jpeg.npz"]
    folder = _need_dir("cifar10", resolve_data_dir(data_dir), "cifar10_jpeg", files)
    path = os.path.join(folder, files[0])
    _split(split)
    try:
        z = np.load(path, allow_pickle=False)
        blob, offsets, labels = z[f"{split}_jpeg"], z[f"{split}_offsets"], z[f"{split}_labels"]
        names = tuple(str(s) for s in z["class_names"]) if "class_names" in z else None
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f"dataset 'cifar10': {path} is malformed ({e}); expected arrays "
                         f"{split}_jpeg, {split}_offsets, {split}_labels, class_names") from e
    if limit is not None:
        images = readers.decode_jpegs(blob, offsets, limit)
    else:
        images = _cached(path, f"cifar10-{split}", lambda: readers.decode_jpegs(blob, offsets))
    labels = labels[: len(images)].astype(np.int32)
    return ImageDataset(_scale(images), labels, 10, "cifar10", names)


def load_emoji(data_dir=None, split="train") -> ImageDataset:
    """Noto emoji 64×64 composited on white; labels are the 10 categories. test: every 10th."""
    files = ["noto_emoji64.npz"]
    folder = _need_dir("emoji", resolve_data_dir(data_dir), "noto_emoji", files)
    path = os.path.join(folder, files[0])
    _split(split)
    try:
        z = np.load(path, allow_pickle=False)
        rgba, cat = z["images_rgba"], z["category"]
        names = tuple(str(s) for s in z["category_names"]) if "category_names" in z else None
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f"dataset 'emoji': {path} is malformed ({e}); expected arrays "
                         f"images_rgba (N,64,64,4), category, category_names") from e
    if rgba.ndim != 4 or rgba.shape[-1] != 4:
        raise ValueError(f"dataset 'emoji': {path}: images_rgba has shape {rgba.shape}, expected (N,H,W,4)")
    keep = (np.arange(len(rgba)) % 10 == 0) == (split == "test")
    images = readers.composite_rgba(rgba[keep])
    return ImageDataset(_scale(images), cat[keep].astype(np.int32),
                        len(names) if names else int(cat.max()) + 1, "emoji", names)


def load_tfds(name: str, data_dir=None, split="train") -> ImageDataset:
    """Any TFDS image dataset with an 'image' feature (needs tensorflow-datasets + network)."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise RuntimeError(f"'tfds:{name}' needs tensorflow-datasets (and tensorflow): "
                           f"pip install tensorflow-datasets tensorflow-cpu; offline, use the "
                           f"data-directory datasets {sorted(DATASETS)}") from e
    try:
        ds = tfds.as_numpy(tfds.load(name, split=split, batch_size=-1, data_dir=data_dir))
    except Exception as e:
        raise RuntimeError(f"'tfds:{name}' could not be loaded ({type(e).__name__}: {e}); TFDS "
                           f"needs tensorflow and a network to download. Offline, use one of "
                           f"{sorted(DATASETS)} with --config.data.dir") from e
    labels = ds.get("label")
    num = int(labels.max()) + 1 if labels is not None else None
    return ImageDataset(_scale(ds["image"]), None if labels is None else labels.astype(np.int32),
                        num, f"tfds:{name}")


FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")
DATASETS: dict[str, Callable] = {
    "digits": load_digits,
    "mnist": _idx_dataset("mnist", "mnist", tuple(str(i) for i in range(10))),
    "fashion_mnist": _idx_dataset("fashion_mnist", "fashion_mnist", FASHION),
    "cifar10": load_cifar10,
    "emoji": load_emoji,
}


def load_dataset(name: str, data_dir: str | None = None, split: str = "train") -> ImageDataset:
    """Load a dataset by name (see DATASETS, or 'tfds:NAME') from data_dir / $GEN_JAX_DATA_DIR."""
    if name.startswith("tfds:"):
        return load_tfds(name[5:], resolve_data_dir(data_dir), split)
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)} or 'tfds:NAME'")
    return DATASETS[name](data_dir, split)
