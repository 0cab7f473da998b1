"""A diffusers model folder on disk: config.json + diffusion_pytorch_model.safetensors.

Read tensor by tensor from the safetensors file (its header gives each tensor's dtype, shape and
byte range): no torch, no pickle. A folder whose weights exist only as a pickled `.bin` is refused.
Writing goes through `safetensors.numpy`.
"""

from __future__ import annotations

import json
import os
from typing import Iterator

import numpy as np

CONFIG = "config.json"
WEIGHTS = "diffusion_pytorch_model.safetensors"
PICKLED = ("diffusion_pytorch_model.bin", "pytorch_model.bin")


class InteropError(ValueError):
    """A diffusers folder that cannot be read or mapped; the message names the file/tensor/class."""


def read_config(folder: str) -> dict:
    """The folder's config.json as a dict (with `_class_name`)."""
    path = os.path.join(folder, CONFIG)
    if not os.path.isdir(folder):
        raise InteropError(f"{folder}: not a directory (expected a diffusers model folder with "
                           f"{CONFIG} and {WEIGHTS})")
    if not os.path.exists(path):
        raise InteropError(f"{path} not found: a diffusers model folder holds {CONFIG} and {WEIGHTS} "
                           f"(for a pipeline, give its model subfolder, e.g. unet/ or transformer/)")
    with open(path) as f:
        return json.load(f)


def weights_path(folder: str) -> str:
    """The safetensors file of the folder; a pickled .bin alone is refused (never unpickled)."""
    path = os.path.join(folder, WEIGHTS)
    if os.path.exists(path):
        return path
    for name in PICKLED:
        if os.path.exists(os.path.join(folder, name)):
            raise InteropError(
                f"{os.path.join(folder, name)}: pickled PyTorch weights are not read (loading a "
                f"pickle can run arbitrary code). Convert the folder to safetensors once, e.g. "
                f"`diffusers` Model.from_pretrained(folder).save_pretrained(out, safe_serialization=True)`, "
                f"and import `out`.")
    raise InteropError(f"{path} not found (expected the weights of the diffusers model as {WEIGHTS}; "
                       f"sharded checkpoints are not supported)")


# safetensors dtype -> numpy (BF16 is widened to float32 by a 16-bit shift)
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16}


class TensorReader:
    """Reads one tensor at a time from a .safetensors file as float32 numpy, checking names and
    shapes; `unused()` lists the tensors never read (an unexpected layout).

    The file is read with plain reads at the offsets of its JSON header (the safetensors format:
    an 8-byte little-endian header size, the header, then the raw data), not memory-mapped, so the
    process holds only the tensors it keeps: importing needs the parameters plus one tensor."""

    def __init__(self, path: str):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n <= size - 8:
                raise InteropError(f"{path}: not a safetensors file (header size {n}, file size {size})")
            header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        self._base = 8 + n
        for key, info in header.items():
            begin, end = info["data_offsets"]
            if info["dtype"] not in _DTYPES:
                raise InteropError(f"{path}: tensor {key!r} has dtype {info['dtype']}; expected one of "
                                   f"{sorted(_DTYPES)}")
            if self._base + end > size:
                raise InteropError(f"{path}: tensor {key!r} ends at byte {self._base + end} of a "
                                   f"{size}-byte file (truncated download?)")
        self._header = header
        self._read: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._header

    def get(self, key: str, shape: tuple) -> np.ndarray:
        if key not in self._header:
            raise InteropError(f"{self.path}: tensor {key!r} is missing (expected shape {tuple(shape)})")
        info = self._header[key]
        if tuple(info["shape"]) != tuple(shape):
            raise InteropError(f"{self.path}: tensor {key!r} has shape {tuple(info['shape'])}, expected "
                               f"{tuple(shape)} from config.json")
        begin, end = info["data_offsets"]
        x = np.empty(int(np.prod(shape, dtype=np.int64)), _DTYPES[info["dtype"]])
        if x.nbytes != end - begin:
            raise InteropError(f"{self.path}: tensor {key!r} holds {end - begin} bytes, expected "
                               f"{x.nbytes} for {info['dtype']} {tuple(shape)}")
        with open(self.path, "rb") as f:
            f.seek(self._base + begin)
            f.readinto(memoryview(x).cast("B"))
        if info["dtype"] == "BF16":
            x = (x.astype(np.uint32) << 16).view(np.float32)
        self._read.add(key)
        return x.astype(np.float32, copy=False).reshape(shape)

    def unused(self) -> list[str]:
        return sorted(set(self._header) - self._read)


def write_folder(folder: str, config: dict, tensors: dict[str, np.ndarray]) -> None:
    """Write config.json and the safetensors weights (float32, contiguous) into folder."""
    from safetensors.numpy import save_file

    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, CONFIG), "w") as f:
        json.dump(config, f, indent=2)
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in tensors.items()},
              os.path.join(folder, WEIGHTS))


def iter_items(tree: dict, prefix: tuple = ()) -> Iterator[tuple[tuple, np.ndarray]]:
    """(path, leaf) pairs of a nested dict."""
    for k, v in tree.items():
        if isinstance(v, dict) or hasattr(v, "items"):
            yield from iter_items(v, prefix + (k,))
        else:
            yield prefix + (k,), v


def set_path(tree: dict, path: tuple, value) -> None:
    for k in path[:-1]:
        tree = tree.setdefault(k, {})
    tree[path[-1]] = value


def get_path(tree, path: tuple):
    for k in path:
        tree = tree[k]
    return tree
