"""Prepared datasets: image folders and shared-data formats round-trip through ArrayRecord shards;
bad inputs are one-line errors naming the path or field, and never destroy what was written."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from gen_jax.data.prepared import parse_resolution, prepare_source
from gen_jax.data import prepared


def _folder(root, rng, res=8):
    """cat/ (4 RGB PNGs at res, one RGBA), dog/ (2 grey PNGs, one in a nested folder), a text file,
    an unreadable .png. Returns {relative path: expected uint8 [res, res, 3]}."""
    expected = {}
    for rel, mode in [("cat/a.png", "RGB"), ("cat/b.png", "RGB"), ("cat/c.png", "RGB"),
                      ("dog/d.png", "L"), ("dog/sub/e.png", "L")]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        shape = (res, res, 3) if mode == "RGB" else (res, res)
        x = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(x, mode).save(p)
        expected[rel] = x if mode == "RGB" else np.repeat(x[..., None], 3, -1)
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG garbage")
    return expected


def test_image_folder_round_trips_pixels_labels_and_lists_unreadable_files(tmp_path):
    expected = _folder(tmp_path / "imgs", np.random.default_rng(0))
    meta = prepared.prepare_folder(str(tmp_path / "imgs"), str(tmp_path / "out"), 8, num_shards=2,
                                   log=lambda *_: None)
    images, labels, meta2 = prepared.read_all(str(tmp_path / "out"))
    assert meta2 == meta and meta.count == 5 and len(meta.shards) == 2
    assert meta.class_names == ("cat", "dog") and meta.skipped == ("dog/broken.png",)
    order = sorted(expected, key=lambda r: (r.split("/")[0], r.count("/"), r))  # os.walk order
    np.testing.assert_array_equal(images, np.stack([expected[r] for r in order]))  # pixel-exact
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1])
    prepared.verify(str(tmp_path / "out"))  # the content hash matches


def test_strict_stops_at_an_unreadable_file_and_writes_nothing(tmp_path):
    _folder(tmp_path / "imgs", np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"broken\.png: unreadable image"):
        prepared.prepare_folder(str(tmp_path / "imgs"), str(tmp_path / "out"), 8, strict=True)
    assert not (tmp_path / "out").exists() and not any(p.name.startswith("out.tmp") for p in tmp_path.iterdir())


def test_resize_and_centre_crop_to_the_resolution(tmp_path):
    (tmp_path / "imgs").mkdir()
    x = np.zeros((10, 40, 3), np.uint8)
    x[:, 10:30] = 200  # bright centre of a wide image: halved to 5x20, the central 5x5 is bright
    Image.fromarray(x).save(tmp_path / "imgs" / "wide.png")
    meta = prepared.prepare_folder(str(tmp_path / "imgs"), str(tmp_path / "out"), 5, channels=1)
    images, labels, _ = prepared.read_all(str(tmp_path / "out"))
    assert images.shape == (1, 5, 5, 1) and labels is None and meta.num_classes is None
    assert np.all(np.abs(images.astype(int) - 200) <= 2)  # not the dark sides: centred


@pytest.mark.parametrize("make, match", [
    (lambda p: p.mkdir(), "empty folder"),
    (lambda p: (p.mkdir(), (p / "a.txt").write_text("x")), "no image files"),
    (lambda p: None, "no such directory"),
])
def test_bad_folders_are_one_line_errors_naming_the_folder(tmp_path, make, match):
    make(tmp_path / "in")
    with pytest.raises((ValueError, FileNotFoundError), match=match) as e:
        prepared.prepare_folder(str(tmp_path / "in"), str(tmp_path / "out"), 8)
    assert str(tmp_path / "in") in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "abc", ""])
def test_resolution_must_be_a_positive_int(value):
    with pytest.raises(ValueError, match="--resolution"):
        parse_resolution(value, required=True)
    assert parse_resolution("64", required=True) == 64


def test_existing_output_is_kept_unless_overwrite_and_replaced_only_after_success(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (3, 4, 4, 1), dtype=np.uint8)
    out = str(tmp_path / "out")
    prepared.write_prepared(out, list(x), (4, 4, 1), name="a")
    with pytest.raises(FileExistsError, match="out: exists"):
        prepared.write_prepared(out, list(x[:1]), (4, 4, 1), name="b")
    with pytest.raises(ValueError, match="expected uint8"):  # a failing overwrite loses nothing
        prepared.write_prepared(out, [x[0], x[0, :2]], (4, 4, 1), name="b", overwrite=True)
    np.testing.assert_array_equal(prepared.read_all(out)[0], x)
    prepared.write_prepared(out, list(x[:1]), (4, 4, 1), name="b", overwrite=True)
    assert prepared.read_meta(out).count == 1


def test_shards_that_disagree_with_their_metadata_are_caught(tmp_path):
    from array_record.python.array_record_module import ArrayRecordWriter

    x = np.random.default_rng(2).integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    out = tmp_path / "out"
    prepared.write_prepared(str(out), list(x), (4, 4, 3), name="t", labels=np.arange(6) % 2, num_shards=2)
    meta_path = out / prepared.META
    d = json.loads(meta_path.read_text())
    shard = out / d["shards"][0]["file"]
    # same record count and size, different pixels: only the content hash sees it
    w = ArrayRecordWriter(str(shard), "group_size:1")
    for _ in range(3):
        w.write(bytes(48))
    w.close()
    prepared.read_meta(str(out))
    with pytest.raises(ValueError, match="content hash .* does not match"):
        prepared.verify(str(out))
    d["shards"][0]["count"], d["count"] = 4, 7  # metadata says 4 records, the shard holds 3
    meta_path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"holds 3 records, .*says 4"):
        prepared.read_meta(str(out))
    d["shards"][0]["count"], d["count"], d["shape"] = 3, 6, [4, 4, 1]
    meta_path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"records are 48 bytes, .*\(4, 4, 1\)"):
        prepared.read_meta(str(out))
    os.remove(shard)
    with pytest.raises(FileNotFoundError, match="shard listed in .* is missing"):
        prepared.read_meta(str(out))
    with pytest.raises(FileNotFoundError, match="not a prepared dataset.*prepare_data"):
        prepared.read_meta(str(tmp_path))


def test_mnist_from_the_shared_idx_files_round_trips(tmp_path, shared_data):
    from gen_jax.data.readers import read_idx

    img = shared_data / "mnist" / "t10k-images-idx3-ubyte.gz"
    if not img.exists():
        pytest.fail(f"{img} not present")
    meta = prepare_source("mnist", str(tmp_path / "m"), split="test", data_dir=str(shared_data), num_shards=3)
    images, labels, _ = prepared.read_all(str(tmp_path / "m"))
    assert meta.count == 10000 and meta.shape == (28, 28, 1) and meta.num_classes == 10
    np.testing.assert_array_equal(images[..., 0], read_idx(str(img)))
    np.testing.assert_array_equal(labels, read_idx(str(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz")))
