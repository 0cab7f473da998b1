"""A diffusers model folder on disk: config.json + diffusion_pytorch_model.safetensors.

Read tensor by tensor through `safetensors` (numpy framework): no torch, no pickle. A folder whose
weights exist only as a pickled `.bin` is refused. Writing goes through `safetensors.numpy`.
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


class TensorReader:
    """Reads one tensor at a time from a safetensors file as float32 numpy, checking names and
    shapes; `unused()` lists the tensors never read (an unexpected layout)."""

    def __init__(self, path: str):
        from safetensors import safe_open

        self.path = path
        self._file = safe_open(path, framework="numpy")
        self._keys = set(self._file.keys())
        self._read: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def get(self, key: str, shape: tuple) -> np.ndarray:
        if key not in self._keys:
            raise InteropError(f"{self.path}: tensor {key!r} is missing (expected shape {tuple(shape)})")
        x = self._file.get_tensor(key)
        if tuple(x.shape) != tuple(shape):
            raise InteropError(f"{self.path}: tensor {key!r} has shape {tuple(x.shape)}, expected "
                               f"{tuple(shape)} from config.json")
        self._read.add(key)
        return np.asarray(x, np.float32)

    def unused(self) -> list[str]:
        return sorted(self._keys - self._read)


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
