"""Import and export of diffusers model folders (config.json + safetensors), without torch.

    from gen_jax.interop import load_diffusers, save_diffusers
    model, params, info = load_diffusers("ddpm-cifar10-32/unet")   # a flax module and its params
    save_diffusers("out/unet", model, params, info["image_shape"])

CONVERTERS maps config.json's `_class_name` to a converter module with `from_config(config)`,
`layout(model, image_shape)`, `abstract_params(model, image_shape)` and `to_config(model, shape)`.
"""

from __future__ import annotations

import os

from gen_jax.interop import autoencoder as _autoencoder
from gen_jax.interop import dit as _dit
from gen_jax.interop import unet as _unet
from gen_jax.interop.folder import InteropError, TensorReader, read_config, weights_path, write_folder
from gen_jax.interop.layers import export_tensors, load_params

# _class_name -> (module -> (model, image_shape), layout, abstract params, module -> config)
CONVERTERS = {
    _unet.CLASS_NAME: (_unet.unet_from_config, _unet.layout, _unet.abstract_params, _unet.config_from_unet),
    _autoencoder.CLASS_NAME: (_autoencoder.autoencoder_from_config, _autoencoder.layout,
                              _autoencoder.abstract_params, _autoencoder.config_from_autoencoder),
    _dit.CLASS_NAME: (_dit.dit_from_config, _dit.layout, _dit.abstract_params, _dit.config_from_dit),
}


# (older _class_name, its config's norm_type) -> the class diffusers loads it as (diffusers'
# _CLASS_REMAPPING_DICT): facebook/DiT-XL-2-256's transformer/config.json says Transformer2DModel
REMAPPED = {("Transformer2DModel", "ada_norm_zero"): _dit.CLASS_NAME}


def class_name_of(config: dict) -> str | None:
    """The model class of a config.json, after diffusers' renames (REMAPPED)."""
    name = config.get("_class_name")
    return REMAPPED.get((name, config.get("norm_type")), name)


def _converter(class_name: str, where: str):
    if class_name not in CONVERTERS:
        raise InteropError(f"{where}: model class {class_name!r} has no gen_jax converter; "
                           f"supported: {sorted(CONVERTERS)}")
    return CONVERTERS[class_name]


def load_diffusers(folder: str, dtype=None):
    """(flax module, params (numpy float32 pytree), info) of a diffusers model folder.

    info: {"class_name", "config" (the folder's config.json), "image_shape" (H, W, C)}. Tensors are
    read one at a time; a missing tensor, a wrong shape, an unused tensor or an unknown class
    raises InteropError naming it."""
    config = read_config(folder)
    class_name = class_name_of(config)
    from_config, layout, abstract, _ = _converter(class_name, os.path.join(folder, "config.json"))
    path = weights_path(folder)  # refuse a pickled .bin before reading anything else
    model, image_shape = from_config(config, dtype=dtype)
    reader = TensorReader(path)
    params = load_params(reader, layout(model, image_shape), abstract(model, image_shape), class_name)
    return model, params, {"class_name": class_name, "config": config, "image_shape": tuple(image_shape)}


def save_diffusers(folder: str, model, params, image_shape, class_name: str | None = None) -> None:
    """Write model + params as a diffusers folder (config.json + safetensors) that diffusers'
    `from_pretrained` and `load_diffusers` read."""
    class_name = class_name or next(n for n, c in CONVERTERS.items() if isinstance(model, _module_type(n)))
    _, layout, _, to_config = _converter(class_name, "export")
    config = to_config(model, image_shape)
    write_folder(folder, config, export_tensors(params, layout(model, image_shape)))


def _module_type(class_name: str):
    from gen_jax.nn.autoencoder import AutoencoderKL
    from gen_jax.nn.dit import DiT
    from gen_jax.nn.unet import UNet

    return {_unet.CLASS_NAME: UNet, _autoencoder.CLASS_NAME: AutoencoderKL, _dit.CLASS_NAME: DiT}[class_name]


__all__ = ["CONVERTERS", "InteropError", "class_name_of", "load_diffusers", "save_diffusers"]
