"""Writers of tiny files in the formats of ../shared/data/README.md, for the data tests.
They are written independently of gen_jax.data.readers, so a round trip checks the parser."""

import gzip
import io
import types

import numpy as np
import pytest
from PIL import Image


def idx_bytes(arr: np.ndarray, type_code: int) -> bytes:
    """An IDX file: 00 00 TT DD, D big-endian uint32 dims, then big-endian data."""
    be = arr.astype(arr.dtype.newbyteorder(">"))
    dims = b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return bytes([0, 0, type_code, arr.ndim]) + dims + be.tobytes()


def write(path, data: bytes) -> str:
    """Write bytes, gzipped when the name ends in .gz."""
    with (gzip.open if str(path).endswith(".gz") else open)(path, "wb") as f:
        f.write(data)
    return str(path)


def flat_images(n: int, size: int = 32) -> np.ndarray:
    """n flat-colour uint8 images [n, size, size, 3], which JPEG keeps within a couple of levels."""
    colours = np.linspace(20, 235, n * 3).reshape(n, 1, 1, 3).astype(np.uint8)
    return np.broadcast_to(colours, (n, size, size, 3)).copy()


def _jpeg(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def cifar_npz(path, images: np.ndarray, labels, names=("cat", "dog")) -> str:
    """Both splits = `images`: concatenated JPEG bytes, N+1 int64 offsets, uint8 labels."""
    arrays = {"class_names": np.array(names)}
    for split in ("train", "test"):
        blobs = [_jpeg(im) for im in images]
        arrays[f"{split}_jpeg"] = np.frombuffer(b"".join(blobs), np.uint8)
        arrays[f"{split}_offsets"] = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
        arrays[f"{split}_labels"] = np.asarray(labels, np.uint8)
    np.savez(path, **arrays)
    return str(path)


def emoji_npz(path, rgba: np.ndarray, category, names=("a", "b", "c")) -> str:
    np.savez(path, images_rgba=rgba, category=np.asarray(category, np.uint8),
             category_names=np.array(names), is_skin_tone_variant=np.zeros(len(rgba), bool),
             codepoints=np.array([f"{i:04x}" for i in range(len(rgba))]))
    return str(path)


@pytest.fixture
def files():
    """The writers above, as files.idx_bytes, files.write, files.cifar_npz, ..."""
    return types.SimpleNamespace(idx_bytes=idx_bytes, write=write, flat_images=flat_images,
                                 cifar_npz=cifar_npz, emoji_npz=emoji_npz)
