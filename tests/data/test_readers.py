"""Readers on tiny files written by conftest.py: IDX (gz and raw), CIFAR-10 JPEG npz, emoji npz."""

import numpy as np
import pytest

from gen_jax.data import readers


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("arr,code", [
    (np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4), 0x08),
    (np.array([[-5, 70000], [1, -2]], np.int32), 0x0C),      # multi-byte: checks endianness
    (np.array([0.5, -1.25, 3.0], np.float64), 0x0E),
])
def test_idx_round_trip_is_exact(tmp_path, files, suffix, arr, code):
    out = readers.read_idx(files.write(tmp_path / f"a.idx{suffix}", files.idx_bytes(arr, code)))
    assert out.dtype == arr.dtype and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("data,msg", [
    (b"\x01\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc", "magic number '01000801'"),
    (b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc", "type code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (b"\x00\x00\x08\x01" + (4).to_bytes(4, "big") + b"abc", r"shape \(4,\).*file has 11 bytes"),
])
def test_malformed_idx_names_path_and_problem(tmp_path, files, data, msg):
    path = files.write(tmp_path / "bad-idx1-ubyte.gz", data)
    with pytest.raises(ValueError, match=msg) as e:
        readers.read_idx(path)
    assert path in str(e.value)


def test_idx_wrong_dim_count_and_non_gzip_content(tmp_path, files):
    path = files.write(tmp_path / "x.idx", files.idx_bytes(np.zeros((2, 2), np.uint8), 0x08))
    with pytest.raises(ValueError, match="has 2 dims, expected 3"):
        readers.read_idx(path, ndim=3)
    fake_gz = tmp_path / "y.gz"
    fake_gz.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="y.gz: cannot read IDX"):
        readers.read_idx(str(fake_gz))


def test_cifar_npz_decodes_each_image_and_limit_takes_a_prefix(tmp_path, files):
    imgs = files.flat_images(3)
    path = files.cifar_npz(tmp_path / "c.npz", imgs, [1, 0, 1])
    images, labels, names = readers.read_cifar10_npz(path, "test")
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    assert np.abs(images.astype(int) - imgs).max() <= 2
    np.testing.assert_array_equal(labels, [1, 0, 1])
    assert names == ("cat", "dog")
    first, lab, _ = readers.read_cifar10_npz(path, "train", limit=2)
    np.testing.assert_array_equal(first, images[:2])
    np.testing.assert_array_equal(lab, [1, 0])


def test_cifar_npz_bad_offsets_or_missing_key_is_a_value_error(tmp_path, files):
    z = dict(np.load(files.cifar_npz(tmp_path / "c.npz", files.flat_images(2), [0, 1])))
    z["train_offsets"] = z["train_offsets"][:-1]
    np.savez(tmp_path / "short.npz", **z)
    with pytest.raises(ValueError, match="short.npz: inconsistent train arrays"):
        readers.read_cifar10_npz(str(tmp_path / "short.npz"), "train")
    del z["test_labels"]
    np.savez(tmp_path / "nolabels.npz", **z)
    with pytest.raises(ValueError, match=r"nolabels.npz: missing arrays \['test_labels'\]"):
        readers.read_cifar10_npz(str(tmp_path / "nolabels.npz"), "test")


def test_emoji_npz_composites_on_white(tmp_path, files):
    rgba = np.zeros((2, 4, 4, 4), np.uint8)
    rgba[0, ..., :] = [200, 100, 0, 255]   # opaque: its own colour
    rgba[1, ..., :] = [0, 0, 0, 51]        # 20 % black over white: 255·0.8 = 204
    rgb, cat, names = readers.read_emoji_npz(files.emoji_npz(tmp_path / "e.npz", rgba, [2, 0]))
    assert rgb.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(rgb[0, 0, 0], [200, 100, 0])
    np.testing.assert_array_equal(rgb[1, 0, 0], [204, 204, 204])
    np.testing.assert_array_equal(cat, [2, 0])
    assert names == ("a", "b", "c")


def test_emoji_npz_with_rgb_images_is_rejected(tmp_path, files):
    path = files.emoji_npz(tmp_path / "e.npz", np.zeros((2, 4, 4, 3), np.uint8), [0, 1])
    with pytest.raises(ValueError, match=r"e.npz: images_rgba uint8\(2, 4, 4, 3\)"):
        readers.read_emoji_npz(path)
