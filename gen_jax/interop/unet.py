"""diffusers `UNet2DModel` <-> gen_jax `UNet` (the DDPM checkpoints: google/ddpm-cifar10-32,
ddpm-celebahq-256, ddpm-church-256, ddpm-bedroom-256, and any config of the same block types).

The config maps onto UNet options exactly or is refused with the field that has no counterpart;
nothing is approximated.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.interop.folder import InteropError
from gen_jax.nn.unet import UNet

CLASS_NAME = "UNet2DModel"
# UNet2DModel.__init__ defaults (diffusers 0.42), for the fields a config.json may omit
DEFAULTS = dict(sample_size=None, in_channels=3, out_channels=3, center_input_sample=False,
                time_embedding_type="positional", time_embedding_dim=None, freq_shift=0,
                flip_sin_to_cos=True,
                down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
                mid_block_type="UNetMidBlock2D",
                up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
                block_out_channels=(224, 448, 672, 896), layers_per_block=2, mid_block_scale_factor=1,
                downsample_padding=1, downsample_type="conv", upsample_type="conv", dropout=0.0,
                act_fn="silu", attention_head_dim=8, norm_num_groups=32, attn_norm_num_groups=None,
                norm_eps=1e-5, resnet_time_scale_shift="default", add_attention=True,
                class_embed_type=None, num_class_embeds=None, num_train_timesteps=None)
DOWN, ATTN_DOWN, UP, ATTN_UP = "DownBlock2D", "AttnDownBlock2D", "UpBlock2D", "AttnUpBlock2D"


def _need(cond: bool, field: str, expected: str, found) -> None:
    if not cond:
        raise InteropError(f"{CLASS_NAME} config.json field {field!r}: gen_jax's UNet needs "
                           f"{expected}, found {found!r}")


def unet_from_config(config: dict, dtype=None) -> tuple[UNet, tuple]:
    """(UNet, image_shape (H, W, C)) expressing a UNet2DModel config.json exactly."""
    cfg = {**DEFAULTS, **{k: v for k, v in config.items() if not k.startswith("_")}}
    for k, ok in (("time_embedding_type", "positional"), ("mid_block_type", "UNetMidBlock2D"),
                  ("downsample_type", "conv"), ("upsample_type", "conv"), ("act_fn", "silu"),
                  ("center_input_sample", False), ("add_attention", True), ("class_embed_type", None),
                  ("num_class_embeds", None), ("mid_block_scale_factor", 1)):
        _need(cfg[k] == ok, k, repr(ok), cfg[k])
    boc = list(cfg["block_out_channels"])
    down, up = list(cfg["down_block_types"]), list(cfg["up_block_types"])
    _need(len(down) == len(up) == len(boc), "down_block_types",
          "as many down and up blocks as block_out_channels", (down, up, boc))
    _need(all(b in (DOWN, ATTN_DOWN) for b in down), "down_block_types", f"{DOWN} or {ATTN_DOWN}", down)
    _need(all(b in (UP, ATTN_UP) for b in up), "up_block_types", f"{UP} or {ATTN_UP}", up)
    attn_levels = [i for i, b in enumerate(down) if b == ATTN_DOWN]
    _need(attn_levels == [len(up) - 1 - i for i, b in enumerate(up) if b == ATTN_UP][::-1],
          "up_block_types", "attention at the same levels as down_block_types", up)
    c0 = boc[0]
    _need(all(c % c0 == 0 for c in boc), "block_out_channels", "multiples of the first entry", boc)
    _need(cfg["time_embedding_dim"] in (None, 4 * c0), "time_embedding_dim", f"None or {4 * c0}",
          cfg["time_embedding_dim"])
    groups = cfg["norm_num_groups"]
    _need(all(c % groups == 0 for c in boc), "norm_num_groups", f"a divisor of every channel count {boc}", groups)
    _need(cfg["attn_norm_num_groups"] in (None, groups), "attn_norm_num_groups", f"None or {groups}",
          cfg["attn_norm_num_groups"])
    _need(cfg["resnet_time_scale_shift"] in ("default", "scale_shift"), "resnet_time_scale_shift",
          "'default' or 'scale_shift'", cfg["resnet_time_scale_shift"])
    _need(cfg["downsample_padding"] in (0, 1), "downsample_padding", "0 or 1", cfg["downsample_padding"])
    size = cfg["sample_size"]
    size = size if isinstance(size, int) else (size[0] if size and size[0] == size[1] else None)
    _need(size is not None and size % 2 ** (len(boc) - 1) == 0, "sample_size",
          f"a square size divisible by {2 ** (len(boc) - 1)}", cfg["sample_size"])
    head_dim = cfg["attention_head_dim"]
    model = UNet(channels=c0, channel_mult=tuple(c // c0 for c in boc),
                 num_res_blocks=cfg["layers_per_block"],
                 attention_resolutions=tuple(size // 2 ** i for i in attn_levels),
                 num_heads=1, dropout=float(cfg["dropout"]), num_classes=None,
                 out_channels=cfg["out_channels"], dtype=dtype,
                 time_flip_sin_to_cos=bool(cfg["flip_sin_to_cos"]), time_freq_shift=float(cfg["freq_shift"]),
                 time_scale_shift=cfg["resnet_time_scale_shift"] == "scale_shift",
                 norm_groups=groups, norm_eps=float(cfg["norm_eps"]),
                 attention_head_dim=head_dim,  # None: one head of all channels, as diffusers
                 downsample_padding=cfg["downsample_padding"])
    return model, (size, size, cfg["in_channels"])


def config_from_unet(model: UNet, image_shape) -> dict:
    """The UNet2DModel config.json of a gen_jax UNet (the inverse of unet_from_config)."""
    if model.num_classes is not None or model.cross_attention:
        raise InteropError("export: a class- or text-conditional UNet has no UNet2DModel layout")
    h, w, c = image_shape
    if h != w:
        raise InteropError(f"export: UNet2DModel needs square images, got {h}x{w}")
    levels = len(model.channel_mult)
    attn = [h // 2 ** i in model.attention_resolutions for i in range(levels)]
    if model.attention_head_dim is None and model.num_heads != 1:
        raise InteropError(f"export: num_heads={model.num_heads} with attention_head_dim=None has no "
                           f"UNet2DModel equivalent (set attention_head_dim = channels / heads)")
    return {"_class_name": CLASS_NAME, "sample_size": h, "in_channels": c,
            "out_channels": model.out_channels or c, "center_input_sample": False,
            "time_embedding_type": "positional", "freq_shift": model.time_freq_shift,
            "flip_sin_to_cos": model.time_flip_sin_to_cos,
            "down_block_types": [ATTN_DOWN if a else DOWN for a in attn],
            "up_block_types": [ATTN_UP if a else UP for a in attn[::-1]],
            "block_out_channels": [model.channels * m for m in model.channel_mult],
            "layers_per_block": model.num_res_blocks, "mid_block_scale_factor": 1,
            "downsample_padding": 0 if model.downsample_padding is None else model.downsample_padding,
            "dropout": model.dropout, "act_fn": "silu", "attention_head_dim": model.attention_head_dim,
            "norm_num_groups": model.norm_groups, "norm_eps": model.norm_eps,
            "resnet_time_scale_shift": "scale_shift" if model.time_scale_shift else "default",
            "add_attention": True}


def layout(model: UNet, image_shape) -> list:
    """[(flax path, diffusers prefix, kind)] in the order UNet.__call__ creates its modules."""
    out = [(("Dense_0",), "time_embedding.linear_1", "dense"),
           (("Dense_1",), "time_embedding.linear_2", "dense"),
           (("Conv_0",), "conv_in", "conv")]
    n = {"res": 0, "attn": 0, "conv": 1}

    def res(prefix):
        p = (f"ResBlock_{n['res']}",)
        n["res"] += 1
        out.extend([(p + ("GroupNorm_0",), f"{prefix}.norm1", "norm"), (p + ("Conv_0",), f"{prefix}.conv1", "conv"),
                    (p + ("Dense_0",), f"{prefix}.time_emb_proj", "dense"),
                    (p + ("GroupNorm_1",), f"{prefix}.norm2", "norm"), (p + ("Conv_1",), f"{prefix}.conv2", "conv"),
                    (p + ("Conv_2",), f"{prefix}.conv_shortcut", "conv")])  # absent when in == out

    def attn(prefix):
        p = (f"SelfAttention2D_{n['attn']}",)
        n["attn"] += 1
        out.extend([(p + ("GroupNorm_0",), f"{prefix}.group_norm", "norm"),
                    (p + ("MultiHeadDotProductAttention_0",), prefix, "attention")])

    def conv(prefix):
        out.append(((f"Conv_{n['conv']}",), prefix, "conv"))
        n["conv"] += 1

    size, levels = image_shape[0], len(model.channel_mult)
    for level in range(levels):
        for j in range(model.num_res_blocks):
            res(f"down_blocks.{level}.resnets.{j}")
            if size // 2 ** level in model.attention_resolutions:
                attn(f"down_blocks.{level}.attentions.{j}")
        if level != levels - 1:
            conv(f"down_blocks.{level}.downsamplers.0.conv")
    res("mid_block.resnets.0")
    attn("mid_block.attentions.0")
    res("mid_block.resnets.1")
    for i, level in enumerate(reversed(range(levels))):
        for j in range(model.num_res_blocks + 1):
            res(f"up_blocks.{i}.resnets.{j}")
            if size // 2 ** level in model.attention_resolutions:
                attn(f"up_blocks.{i}.attentions.{j}")
        if level != 0:
            conv(f"up_blocks.{i}.upsamplers.0.conv")
    out.append((("GroupNorm_0",), "conv_norm_out", "norm"))
    conv("conv_out")
    return out


_ABSTRACT: dict = {}  # repr(model), shape -> abstract params (tracing a big U-Net takes seconds)


def abstract_params(model: UNet, image_shape):
    key = (repr(model), tuple(image_shape))
    if key not in _ABSTRACT:
        _ABSTRACT[key] = _abstract_params(model, image_shape)
    return _ABSTRACT[key]


def _abstract_params(model: UNet, image_shape):
    x = jax.ShapeDtypeStruct((1, *image_shape), jnp.float32)
    t = jax.ShapeDtypeStruct((1,), jnp.int32)
    return jax.eval_shape(lambda x, t: model.init(jax.random.PRNGKey(0), x, t), x, t)["params"]
