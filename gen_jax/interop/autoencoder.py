"""diffusers `AutoencoderKL` <-> gen_jax `AutoencoderKL` (stabilityai/sd-vae-ft-mse and -ema, and
any config of DownEncoderBlock2D / UpDecoderBlock2D blocks with GroupNorm of 32 groups)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen_jax.interop.folder import InteropError
from gen_jax.nn.autoencoder import AutoencoderKL

CLASS_NAME = "AutoencoderKL"
DEFAULTS = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",),
                up_block_types=("UpDecoderBlock2D",), block_out_channels=(64,), layers_per_block=1,
                act_fn="silu", latent_channels=4, norm_num_groups=32, sample_size=32,
                scaling_factor=0.18215, shift_factor=None, latents_mean=None, latents_std=None,
                force_upcast=True, use_quant_conv=True, use_post_quant_conv=True,
                mid_block_add_attention=True)


def _need(cond: bool, field: str, expected: str, found) -> None:
    if not cond:
        raise InteropError(f"{CLASS_NAME} config.json field {field!r}: gen_jax's AutoencoderKL needs "
                           f"{expected}, found {found!r}")


def autoencoder_from_config(config: dict, dtype=None) -> tuple[AutoencoderKL, tuple]:
    """(AutoencoderKL, image_shape) expressing the config exactly. The latent scale
    (config scaling_factor, 0.18215 for SD's VAE) is config['scaling_factor']."""
    del dtype  # the autoencoder computes in float32
    cfg = {**DEFAULTS, **{k: v for k, v in config.items() if not k.startswith("_")}}
    boc = list(cfg["block_out_channels"])
    _need(all(b == "DownEncoderBlock2D" for b in cfg["down_block_types"]) and len(cfg["down_block_types"]) == len(boc),
          "down_block_types", "one DownEncoderBlock2D per block_out_channels entry", cfg["down_block_types"])
    _need(all(b == "UpDecoderBlock2D" for b in cfg["up_block_types"]) and len(cfg["up_block_types"]) == len(boc),
          "up_block_types", "one UpDecoderBlock2D per block_out_channels entry", cfg["up_block_types"])
    _need(cfg["act_fn"] == "silu", "act_fn", "'silu'", cfg["act_fn"])
    _need(cfg["norm_num_groups"] == 32 and all(c % 32 == 0 for c in boc), "norm_num_groups",
          f"32, dividing every channel count {boc}", cfg["norm_num_groups"])
    _need(all(c % boc[0] == 0 for c in boc), "block_out_channels", "multiples of the first entry", boc)
    _need(cfg["use_quant_conv"] == cfg["use_post_quant_conv"], "use_post_quant_conv",
          f"the same as use_quant_conv ({cfg['use_quant_conv']})", cfg["use_post_quant_conv"])
    _need(cfg["in_channels"] == cfg["out_channels"], "out_channels", f"in_channels={cfg['in_channels']}",
          cfg["out_channels"])
    size = cfg["sample_size"]
    size = size if isinstance(size, int) else size[0]
    model = AutoencoderKL((size, size, cfg["in_channels"]), boc[0], tuple(c // boc[0] for c in boc),
                          cfg["layers_per_block"], cfg["latent_channels"],
                          mid_attention=bool(cfg["mid_block_add_attention"]),
                          quant_conv=bool(cfg["use_quant_conv"]))
    return model, model.image_shape


def config_from_autoencoder(model: AutoencoderKL, image_shape) -> dict:
    n = len(model.channel_mult)
    return {"_class_name": CLASS_NAME, "in_channels": image_shape[-1], "out_channels": image_shape[-1],
            "down_block_types": ["DownEncoderBlock2D"] * n, "up_block_types": ["UpDecoderBlock2D"] * n,
            "block_out_channels": [model.channels * m for m in model.channel_mult],
            "layers_per_block": model.num_res_blocks, "act_fn": "silu",
            "latent_channels": model.latent_channels, "norm_num_groups": 32, "sample_size": image_shape[0],
            "use_quant_conv": model.quant_conv, "use_post_quant_conv": model.quant_conv,
            "mid_block_add_attention": model.mid_attention}


def layout(model: AutoencoderKL, image_shape) -> list:
    out = []
    levels, nrb = len(model.channel_mult), model.num_res_blocks

    def res(root, i, prefix):
        p = (root, f"ResBlock_{i}")
        out.extend([(p + ("GroupNorm_0",), f"{prefix}.norm1", "norm"), (p + ("Conv_0",), f"{prefix}.conv1", "conv"),
                    (p + ("GroupNorm_1",), f"{prefix}.norm2", "norm"), (p + ("Conv_1",), f"{prefix}.conv2", "conv"),
                    (p + ("Conv_2",), f"{prefix}.conv_shortcut", "conv")])

    def mid(root, r, name):
        res(root, r, f"{name}.mid_block.resnets.0")
        if model.mid_attention:
            out.extend([((root, "SelfAttention2D_0", "GroupNorm_0"), f"{name}.mid_block.attentions.0.group_norm", "norm"),
                        ((root, "SelfAttention2D_0", "MultiHeadDotProductAttention_0"), f"{name}.mid_block.attentions.0", "attention")])
            res(root, r + 1, f"{name}.mid_block.resnets.1")
        return r + (2 if model.mid_attention else 1)

    e, r, c = "encoder", 0, 1
    out.append(((e, "Conv_0"), "encoder.conv_in", "conv"))
    for level in range(levels):
        for j in range(nrb):
            res(e, r, f"encoder.down_blocks.{level}.resnets.{j}")
            r += 1
        if level != levels - 1:
            out.append(((e, f"Conv_{c}"), f"encoder.down_blocks.{level}.downsamplers.0.conv", "conv"))
            c += 1
    mid(e, r, "encoder")
    out.extend([((e, "GroupNorm_0"), "encoder.conv_norm_out", "norm"), ((e, f"Conv_{c}"), "encoder.conv_out", "conv")])
    d, c = "decoder", 1
    out.append(((d, "Conv_0"), "decoder.conv_in", "conv"))
    r = mid(d, 0, "decoder")
    for i in range(levels):
        for j in range(nrb + 1):
            res(d, r, f"decoder.up_blocks.{i}.resnets.{j}")
            r += 1
        if i != levels - 1:
            out.append(((d, f"Conv_{c}"), f"decoder.up_blocks.{i}.upsamplers.0.conv", "conv"))
            c += 1
    out.extend([((d, "GroupNorm_0"), "decoder.conv_norm_out", "norm"), ((d, "conv_out"), "decoder.conv_out", "conv")])
    if model.quant_conv:
        out.extend([(("quant",), "quant_conv", "conv"), (("post_quant",), "post_quant_conv", "conv")])
    return out


def abstract_params(model: AutoencoderKL, image_shape):
    x = jax.ShapeDtypeStruct((1, *image_shape), jnp.float32)
    return jax.eval_shape(lambda x: model.init(jax.random.PRNGKey(0), x, method=AutoencoderKL.init_all), x)["params"]
