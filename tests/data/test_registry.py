"""load_dataset by name: the embedded digits, data-dir datasets on tiny files, error messages,
and (when ../shared/data is beside the repo) the real files."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from gen_jax.data import DATASETS, ImageDataset, load_dataset, resolve_data_dir
from gen_jax.data.registry import load_cifar10

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.delenv("GEN_JAX_DATA_DIR", raising=False)
    monkeypatch.setenv("GEN_JAX_CACHE_DIR", str(tmp_path / "cache"))


def test_digits_is_sklearn_digits_scaled_to_unit_range():
    from sklearn.datasets import load_digits

    ds = load_dataset("digits")
    assert isinstance(ds, ImageDataset) and ds.name == "digits" and ds.num_classes == 10
    assert ds.images.shape == (1797, 8, 8, 1) and ds.images.dtype == np.float32
    assert ds.images.min() == -1.0 and ds.images.max() == 1.0
    np.testing.assert_array_equal((ds.images[..., 0] + 1) * 8, load_digits().images)
    assert ds.labels.dtype == np.int32 and set(np.unique(ds.labels)) == set(range(10))
    test = load_dataset("digits", split="test")
    assert len(test.images) == 360
    np.testing.assert_array_equal(test.images, ds.images[::5])


def write_mnist(files, folder: Path, n=5, gz=True):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    sfx = ".gz" if gz else ""
    for prefix in ("train", "t10k"):
        files.write(folder / f"{prefix}-images-idx3-ubyte{sfx}", files.idx_bytes(images, 0x08))
        files.write(folder / f"{prefix}-labels-idx1-ubyte{sfx}", files.idx_bytes(labels, 0x08))
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_idx_dataset_from_env_data_dir_gz_or_raw(tmp_path, files, monkeypatch, gz):
    images, labels = write_mnist(files, tmp_path / "data" / "fashion_mnist", gz=gz)
    monkeypatch.setenv("GEN_JAX_DATA_DIR", str(tmp_path / "data"))
    ds = load_dataset("fashion_mnist", split="test")
    assert ds.images.shape == (5, 28, 28, 1) and ds.class_names[9] == "Ankle boot"
    np.testing.assert_allclose(ds.images[..., 0], images / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(ds.labels, labels)


def test_missing_files_name_dataset_path_expected_files_and_flag(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_dataset("mnist", str(tmp_path / "nowhere"))
    msg = str(e.value)
    for part in ("'mnist'", str(tmp_path / "nowhere" / "mnist"), "no such directory",
                 "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "--config.data.dir", "GEN_JAX_DATA_DIR"):
        assert part in msg, part
    with pytest.raises(FileNotFoundError, match=r"'cifar10' needs a data directory.*cifar10_jpeg.npz"):
        load_dataset("cifar10")  # no flag, no env var


def test_only_the_missing_file_is_named(tmp_path, files):
    write_mnist(files, tmp_path / "mnist")
    os.remove(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="'mnist': missing t10k-labels-idx1-ubyte.gz in"):
        load_dataset("mnist", str(tmp_path), "test")


def test_malformed_idx_in_a_dataset_is_a_value_error_naming_the_file(tmp_path, files):
    write_mnist(files, tmp_path / "mnist")
    bad_labels = np.array([0, 1, 2, 3, 11], np.uint8)
    files.write(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", files.idx_bytes(bad_labels, 0x08))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz has labels in \[0, 11\]"):
        load_dataset("mnist", str(tmp_path))


def test_unknown_name_and_split_list_the_choices():
    with pytest.raises(ValueError, match=r"unknown dataset 'imagenet'.*'cifar10'.*'digits'.*tfds:NAME"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match=r"unknown split 'val'.*'train', 'test'"):
        load_dataset("digits", split="val")
    assert set(DATASETS) == {"digits", "mnist", "fashion_mnist", "cifar10", "emoji", "emoji32", "mnist_mnistm",
                             "mnist_fashion", "moving_mnist", "moving_mnist_small", "moving_digits"}


def test_resolve_data_dir_prefers_flag_then_env(monkeypatch):
    assert resolve_data_dir(None) is None and resolve_data_dir("") is None
    monkeypatch.setenv("GEN_JAX_DATA_DIR", "/env")
    assert resolve_data_dir("") == "/env" and resolve_data_dir("/flag") == "/flag"


def test_cifar10_decode_is_cached_and_cache_follows_the_file(tmp_path, files):
    (tmp_path / "cifar10_jpeg").mkdir()
    path = tmp_path / "cifar10_jpeg" / "cifar10_jpeg.npz"
    files.cifar_npz(path, files.flat_images(3), [0, 1, 1])
    first = load_dataset("cifar10", str(tmp_path), "test")
    assert first.images.shape == (3, 32, 32, 3) and first.class_names == ("cat", "dog")
    assert first.images.min() >= -1 and first.images.max() <= 1
    assert len(list((tmp_path / "cache").glob("cifar10-test-*.npy"))) == 1
    again = load_dataset("cifar10", str(tmp_path), "test")  # from the cache
    np.testing.assert_array_equal(again.images, first.images)
    files.cifar_npz(path, files.flat_images(4)[::-1], [1, 0, 0, 1])  # new size and mtime: new key
    new = load_dataset("cifar10", str(tmp_path), "test")
    assert new.images.shape[0] == 4 and list(new.labels) == [1, 0, 0, 1]


def test_emoji_test_split_is_every_tenth_image(tmp_path, files):
    (tmp_path / "noto_emoji").mkdir()
    rgba = np.zeros((12, 4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[..., 0] = np.arange(12)[:, None, None] * 20
    files.emoji_npz(tmp_path / "noto_emoji" / "noto_emoji64.npz", rgba, np.arange(12) % 3)
    train = load_dataset("emoji", str(tmp_path))
    test = load_dataset("emoji", str(tmp_path), "test")
    assert train.images.shape == (12, 4, 4, 3) and train.num_classes == 3
    np.testing.assert_array_equal(test.images, train.images[[0, 10]])
    np.testing.assert_array_equal(test.labels, [0, 1])
    small = load_dataset("emoji32", str(tmp_path), "test")  # every 2x2 block averaged
    assert small.name == "emoji32" and small.images.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(small.images[:, 1, 0], test.images[:, 2:4, 0:2].mean((1, 2)), atol=1e-6)
    np.testing.assert_array_equal(small.labels, test.labels)


def test_tfds_without_tensorflow_datasets_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import now raises ImportError
    with pytest.raises(RuntimeError, match=r"'tfds:mnist' needs tensorflow-datasets.*GEN_JAX_DATA_DIR"):
        load_dataset("tfds:mnist")


# --- the real files in ../shared/data (skipped where they are not beside the repo) ---

def _needs(sub):
    return pytest.mark.skipif(not (SHARED / sub).exists(), reason=f"needs {SHARED / sub}")


@_needs("mnist")
def test_real_mnist_shapes_labels_and_mean_pixel():
    train, test = load_dataset("mnist", str(SHARED)), load_dataset("mnist", str(SHARED), "test")
    assert train.images.shape == (60000, 28, 28, 1) and test.images.shape == (10000, 28, 28, 1)
    # Per-class counts of the official training set, and its well-known mean pixel 0.1307.
    np.testing.assert_array_equal(np.bincount(train.labels),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    assert test.labels.min() == 0 and test.labels.max() == 9
    np.testing.assert_allclose((train.images.mean(dtype=np.float64) + 1) / 2, 0.1307, atol=1e-4)


@_needs("fashion_mnist")
def test_real_fashion_mnist_is_balanced_with_mean_pixel_0286():
    test = load_dataset("fashion_mnist", str(SHARED), "test")
    assert test.images.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(test.labels), [1000] * 10)
    np.testing.assert_allclose((test.images.mean(dtype=np.float64) + 1) / 2, 0.2860, atol=2e-3)


@_needs("cifar10_jpeg")
def test_real_cifar10_first_images_decode():
    ds = load_cifar10(str(SHARED), "train", limit=4)  # sorted by class: all airplanes
    assert ds.images.shape == (4, 32, 32, 3) and ds.images.dtype == np.float32
    assert ds.class_names[:2] == ("airplane", "automobile") and ds.num_classes == 10
    np.testing.assert_array_equal(ds.labels, 0)
    assert -1 <= ds.images.min() and ds.images.max() <= 1 and ds.images.std() > 0.1


@_needs("noto_emoji")
def test_real_emoji_shapes_and_white_background():
    ds = load_dataset("emoji", str(SHARED), "test")
    assert ds.images.shape == (379, 64, 64, 3) and ds.num_classes == 10
    assert ds.class_names[0] == "Activities"
    assert (ds.images[:, 0, 0] == 1.0).all(axis=-1).mean() > 0.9  # corners are transparent -> white
