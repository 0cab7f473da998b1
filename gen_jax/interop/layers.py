"""Per-layer maps between flax linen parameters and PyTorch (diffusers) tensors.

A layer kind lists, for each flax leaf, the PyTorch tensor name and the two (exact) transforms:
transposes and reshapes only, so export → import gives the same bits. A converter describes a
network as [(flax path, PyTorch prefix, kind)] and `load_params` / `export_tensors` do the rest
one tensor at a time (host memory: the float32 parameters plus one tensor).
"""

from __future__ import annotations

import jax
import numpy as np

from gen_jax.interop.folder import InteropError, TensorReader, get_path, set_path


def _conv_t(k):  # flax [kh, kw, I, O] -> torch [O, I, kh, kw]
    return k.transpose(3, 2, 0, 1)


def _conv_f(w):
    return w.transpose(2, 3, 1, 0)


def _dense_t(k):  # flax [I, O] -> torch [O, I]
    return k.T


def _ident(x):
    return x


def _qkv_kernel_t(k):  # flax DenseGeneral [C, H, D] -> torch Linear [H·D, C]
    return k.reshape(k.shape[0], -1).T


def _out_kernel_t(k):  # flax DenseGeneral [H, D, C] -> torch Linear [C, H·D]
    return k.reshape(-1, k.shape[-1]).T


def _flat(b):
    return b.reshape(-1)


# kind -> {flax sub-path: (torch suffix, flax -> torch, torch -> flax given the flax shape)}
LAYERS = {
    "conv": {("kernel",): ("weight", _conv_t, lambda w, s: _conv_f(w)),
             ("bias",): ("bias", _ident, lambda w, s: w)},
    "dense": {("kernel",): ("weight", _dense_t, lambda w, s: w.T),
              ("bias",): ("bias", _ident, lambda w, s: w)},
    "norm": {("scale",): ("weight", _ident, lambda w, s: w),
             ("bias",): ("bias", _ident, lambda w, s: w)},
    "embed": {("embedding",): ("weight", _ident, lambda w, s: w)},
    # flax MultiHeadDotProductAttention <- diffusers Attention (to_q/to_k/to_v/to_out.0)
    "attention": {
        **{(n, "kernel"): (f"{t}.weight", _qkv_kernel_t, lambda w, s: w.T.reshape(s))
           for n, t in (("query", "to_q"), ("key", "to_k"), ("value", "to_v"))},
        **{(n, "bias"): (f"{t}.bias", _flat, lambda w, s: w.reshape(s))
           for n, t in (("query", "to_q"), ("key", "to_k"), ("value", "to_v"))},
        ("out", "kernel"): ("to_out.0.weight", _out_kernel_t, lambda w, s: w.T.reshape(s)),
        ("out", "bias"): ("to_out.0.bias", _ident, lambda w, s: w),
    },
}
# Checkpoints saved by early diffusers (the google/ddpm-* uploads) name the attention projections
# query/key/value/proj_attn; diffusers renames them on load, and so do we.
LEGACY_NAMES = {"to_q.": "query.", "to_k.": "key.", "to_v.": "value.", "to_out.0.": "proj_attn."}


def _torch_shape(fn, shape):
    return tuple(jax.eval_shape(fn, jax.ShapeDtypeStruct(tuple(shape), np.float32)).shape)


def _resolve(reader: TensorReader, name: str) -> str:
    if name in reader:
        return name
    for new, old in LEGACY_NAMES.items():
        if new in name and name.replace(new, old) in reader:
            return name.replace(new, old)
    return name  # missing: reader.get names it


def load_params(reader: TensorReader, layout, abstract_params, model_class: str) -> dict:
    """flax params (numpy float32, the structure of abstract_params) read from `reader` by
    layout [(flax path, torch prefix, kind)]. Every tensor of the file must be used. A list of
    prefixes is one gen_jax layer stored as identical copies (DiT's per-block embeddings): copies
    that differ cannot be expressed and raise InteropError."""
    params: dict = {}
    for flax_path, prefixes, kind in layout:
        prefixes = [prefixes] if isinstance(prefixes, str) else prefixes
        for sub, (suffix, to_torch, from_torch) in LAYERS[kind].items():
            try:
                shape = get_path(abstract_params, flax_path + sub).shape
            except KeyError:
                continue  # e.g. a layer without bias
            first = _resolve(reader, f"{prefixes[0]}.{suffix}")
            w = reader.get(first, _torch_shape(to_torch, shape))
            for prefix in prefixes[1:]:
                name = _resolve(reader, f"{prefix}.{suffix}")
                if not np.array_equal(reader.get(name, w.shape), w):
                    raise InteropError(f"{reader.path}: tensor {name!r} differs from {first!r}; gen_jax "
                                       f"shares this layer, so the copies must be equal")
            set_path(params, flax_path + sub, np.ascontiguousarray(from_torch(w, shape)))
    missing = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(abstract_params)
               if _lookup(params, p) is None]
    if missing:  # a layout bug rather than a bad file, but say what is not covered
        raise InteropError(f"{model_class}: no tensor maps onto gen_jax parameters {missing[:5]}")
    if reader.unused():
        raise InteropError(f"{reader.path}: tensors {reader.unused()[:8]} (of {len(reader.unused())} "
                           f"unexpected) are not part of the {model_class} that config.json describes")
    return params


def _lookup(tree, path):
    try:
        for k in path:
            tree = tree[k.key]
        return tree
    except (KeyError, TypeError):
        return None


def export_tensors(params, layout) -> dict[str, np.ndarray]:
    """{torch name: array} of flax params by layout (the inverse of load_params)."""
    out = {}
    for flax_path, prefixes, kind in layout:
        prefixes = [prefixes] if isinstance(prefixes, str) else prefixes
        for sub, (suffix, to_torch, _) in LAYERS[kind].items():
            try:
                leaf = np.asarray(get_path(params, flax_path + sub), np.float32)
            except KeyError:
                continue
            for prefix in prefixes:
                out[f"{prefix}.{suffix}"] = np.ascontiguousarray(to_torch(leaf))
    return out
