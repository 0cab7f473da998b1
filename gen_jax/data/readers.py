"""Readers for the on-disk formats of ../shared/data (see its README): IDX (MNIST, Fashion-MNIST),
CIFAR-10 as concatenated JPEG bytes in an .npz, Noto emoji RGBA in an .npz."""

from __future__ import annotations

import gzip
import io
import os

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Parse an IDX file (LeCun's format), gzipped or raw: magic 0x0000 TT DD, big-endian dims."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: cannot read IDX file ({e})") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {data[:4].hex()!r}; "
                         f"expected 0000 followed by a type code and a dimension count)")
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes for {ndim} dims)")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: IDX size mismatch: header says shape {shape} ({expected} bytes), "
                         f"file has {len(data)} bytes")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def decode_jpegs(blob: np.ndarray, offsets: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Decode images i = blob[offsets[i]:offsets[i+1]] with Pillow -> uint8 [N, H, W, 3]."""
    from PIL import Image

    n = len(offsets) - 1 if limit is None else min(limit, len(offsets) - 1)
    out = [np.asarray(Image.open(io.BytesIO(blob[offsets[i]:offsets[i + 1]].tobytes())).convert("RGB"))
           for i in range(n)]
    return np.stack(out)


def composite_rgba(rgba: np.ndarray, background: int = 255) -> np.ndarray:
    """RGBA uint8 [..., 4] over a flat background -> RGB uint8 [..., 3]."""
    rgb = rgba[..., :3].astype(np.float32)
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    return np.round(rgb * a + background * (1.0 - a)).astype(np.uint8)


def cache_dir() -> str:
    return os.environ.get("GEN_JAX_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "gen_jax"))
