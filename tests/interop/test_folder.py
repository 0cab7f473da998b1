"""The safetensors reader (no torch): dtypes, shapes, truncated files."""

import json

import numpy as np
import pytest

from gen_jax.interop.folder import InteropError, TensorReader


def _write(path, tensors):
    """A .safetensors file by hand: 8-byte header size, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    path.write_bytes(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def test_reader_widens_f16_bf16_and_checks(tmp_path):
    x = np.random.RandomState(0).randn(3, 4).astype(np.float32)
    bf16 = (x.view(np.uint32) >> 16).astype(np.uint16)  # truncation: exact bf16 values
    path = tmp_path / "w.safetensors"
    _write(path, {"a": ("F16", (3, 4), x.astype(np.float16).tobytes()),
                  "b": ("BF16", (3, 4), bf16.tobytes()), "c": ("F32", (3, 4), x.tobytes())})
    r = TensorReader(str(path))
    np.testing.assert_array_equal(r.get("a", (3, 4)), x.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(r.get("b", (3, 4)), (bf16.astype(np.uint32) << 16).view(np.float32))
    assert r.unused() == ["c"]
    with pytest.raises(InteropError, match=r"'c' has shape \(3, 4\), expected \(4, 3\)"):
        r.get("c", (4, 3))
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(InteropError, match="'c' ends at byte .*truncated"):
        TensorReader(str(path))
