"""Readers for the on-disk formats of ../shared/data (see its README): IDX (MNIST, Fashion-MNIST),
CIFAR-10 as concatenated JPEG bytes in an .npz, Noto emoji RGBA in an .npz. They return uint8
arrays as stored; scaling to [-1, 1] and splits belong to registry.py."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zipfile
import zlib
from typing import Callable

import numpy as np

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data are big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
ENV_CACHE_DIR = "GEN_JAX_CACHE_DIR"


def read_idx(path: str, ndim: int | None = None) -> np.ndarray:
    """Parse an IDX file, gzipped (name ends in .gz) or raw, into a native-endian array.

    Header: two zero bytes, a type code, the number of dims D, then D big-endian uint32 sizes.
    Raises ValueError naming `path` for a bad magic number, unknown type code, a dim count other
    than `ndim` (if given), or a payload whose length does not match the header.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: cannot read IDX file ({type(e).__name__}: {e})") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file: magic number {data[:4].hex()!r} does not "
                         f"start with 0000 (expected 0000 TTDD: type code TT, dim count DD)")
    if data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{data[2]:02x}; expected one of "
                         f"{', '.join(f'0x{t:02x}' for t in _IDX_DTYPES)}")
    dtype, dims = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    if ndim is not None and dims != ndim:
        raise ValueError(f"{path}: IDX file has {dims} dims, expected {ndim}")
    header = 4 + 4 * dims
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, {dims} dims need {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: IDX size mismatch: header says shape {shape} of {dtype.name} "
                         f"({expected} bytes in all), file has {len(data)} bytes")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def decode_jpegs(blob: np.ndarray, offsets: np.ndarray, limit: int | None = None,
                 source: str = "<memory>") -> np.ndarray:
    """Decode image i = blob[offsets[i]:offsets[i+1]] with Pillow -> uint8 [n, H, W, 3]."""
    from PIL import Image

    n = len(offsets) - 1 if limit is None else min(limit, len(offsets) - 1)
    out = []
    for i in range(n):
        try:
            img = Image.open(io.BytesIO(blob[offsets[i]:offsets[i + 1]].tobytes())).convert("RGB")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            raise ValueError(f"{source}: image {i} (bytes {offsets[i]}:{offsets[i + 1]}) is not a "
                             f"decodable JPEG ({e})") from e
        out.append(np.asarray(img))
    if len({a.shape for a in out}) > 1:
        raise ValueError(f"{source}: images have different shapes {sorted({a.shape for a in out})}")
    return np.stack(out) if out else np.zeros((0, 0, 0, 3), np.uint8)


def _load_npz(path: str, keys: list[str], what: str) -> dict[str, np.ndarray]:
    """Every failure names `path`: unreadable, not a zip (truncated), a missing key, a damaged
    member, or an object array (pickle, which is never loaded)."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: cannot read .npz ({type(e).__name__}: {e}); the file may be "
                         f"truncated or not an .npz; expected {what}") from e
    with z:
        missing = [k for k in keys if k not in z.files]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing} (found {z.files}); expected {what}")
        out = {}
        for k in keys:
            try:
                out[k] = z[k]
            except ValueError as e:
                if "allow_pickle" in str(e):
                    raise ValueError(f"{path}: array {k!r} is an object array (pickled Python "
                                     f"objects), which is never loaded; expected {what}") from e
                raise ValueError(f"{path}: array {k!r} cannot be read ({e}); expected {what}") from e
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise ValueError(f"{path}: array {k!r} cannot be read ({type(e).__name__}: {e}); "
                                 f"the file may be truncated or damaged; expected {what}") from e
            if not isinstance(out[k], np.ndarray):  # numpy returns a non-.npy member as bytes
                raise ValueError(f"{path}: array {k!r} cannot be read (member {k}.npy is not in "
                                 f".npy format); the file may be damaged; expected {what}")
        return out


def read_cifar10_npz(path: str, split: str, limit: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """CIFAR-10 as JPEG bytes: (images uint8 [n, 32, 32, 3], labels [n], class_names).

    `limit` decodes only the first `limit` images (tests; the file is sorted by class)."""
    what = (f"{split}_jpeg (uint8 bytes), {split}_offsets (int64, N+1), {split}_labels, class_names")
    z = _load_npz(path, [f"{split}_jpeg", f"{split}_offsets", f"{split}_labels", "class_names"], what)
    blob, offsets, labels = z[f"{split}_jpeg"], z[f"{split}_offsets"], z[f"{split}_labels"]
    if (blob.dtype != np.uint8 or offsets.ndim != 1 or len(offsets) != len(labels) + 1
            or offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) <= 0)):
        raise ValueError(f"{path}: inconsistent {split} arrays: jpeg {blob.dtype}{blob.shape}, "
                         f"offsets {offsets.shape} from {offsets[:1]} to {offsets[-1:]}, labels "
                         f"{labels.shape}; expected uint8 bytes, N+1 increasing offsets from 0 to "
                         f"len(jpeg), N labels")
    images = decode_jpegs(blob, offsets, limit, source=path)
    return images, labels[:len(images)], tuple(str(s) for s in z["class_names"])


def read_emoji_npz(path: str, background: int = 255
                   ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Noto emoji: (RGB uint8 [N, 64, 64, 3] composited on `background`, category [N], names)."""
    what = "images_rgba (N,H,W,4) uint8, category (N,), category_names"
    z = _load_npz(path, ["images_rgba", "category", "category_names"], what)
    rgba, category = z["images_rgba"], z["category"]
    if rgba.ndim != 4 or rgba.shape[-1] != 4 or rgba.dtype != np.uint8 or category.shape != rgba.shape[:1]:
        raise ValueError(f"{path}: images_rgba {rgba.dtype}{rgba.shape} and category "
                         f"{category.shape} do not fit; expected {what}")
    names = tuple(str(s) for s in z["category_names"])
    if category.size and category.max() >= len(names):
        raise ValueError(f"{path}: category goes up to {category.max()} but there are only "
                         f"{len(names)} category_names")
    return composite_rgba(rgba, background), category, names


def composite_rgba(rgba: np.ndarray, background: int = 255) -> np.ndarray:
    """RGBA uint8 [..., 4] over a flat grey level `background` -> RGB uint8 [..., 3]."""
    rgb = rgba[..., :3].astype(np.float32)
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    return np.round(rgb * a + background * (1.0 - a)).astype(np.uint8)


def cache_dir() -> str | None:
    """$GEN_JAX_CACHE_DIR (set it empty to disable caching), else ~/.cache/gen_jax."""
    d = os.environ.get(ENV_CACHE_DIR)
    if d is None:
        return os.path.join(os.path.expanduser("~"), ".cache", "gen_jax")
    return d or None


def cached(source: str, tag: str, build: Callable[[], np.ndarray]) -> np.ndarray:
    """build(), memoised as an .npy in cache_dir() keyed by `source`'s path, size and mtime.

    The cache is best effort: an unwritable directory or a corrupt entry just means a rebuild."""
    root = cache_dir()
    if root is None:
        return build()
    st = os.stat(source)
    key = hashlib.sha1(f"{os.path.abspath(source)}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
    path = os.path.join(root, f"{tag}-{key[:16]}.npy")
    if os.path.exists(path):
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            pass
    arr = build()
    try:
        os.makedirs(root, exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}.npy"  # atomic publish: concurrent readers never see half a file
        np.save(tmp, arr)
        os.replace(tmp, path)
    except OSError:
        pass
    return arr
