"""ControlNet (Zhang, Rao & Agrawala 2023): a trainable copy of a U-Net's encoder (timestep/class
embedding, down path, middle block) fed x_t plus an encoded condition map (edges, a mask), whose
features reach the frozen U-Net through zero-initialised 1×1 convolutions added to its skip
connections and middle block (UNet(..., control=...)). At initialisation every zero convolution
outputs 0, so the combined model is exactly the pretrained one (paper sec. 3.1).

The encoder creates its submodules in the same order and with the same types as UNet, so its
parameter names (Dense_0, Conv_0, ResBlock_3, ...) are the U-Net's: copy_encoder_params
initialises it from the pretrained U-Net's weights.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen_jax.nn.layers import SelfAttention2D, timestep_embedding
from gen_jax.nn.unet import ResBlock, UNet

ADDED = ("hint_encoder", "zero_convs")  # parameters with no counterpart in the U-Net


class HintEncoder(nn.Module):
    """Condition map [B, H, W, Ch] -> features [B, H, W, out_channels] at the U-Net's input
    resolution; the last convolution is zero-initialised (as in the paper's input hint block)."""

    hidden: int
    out_channels: int
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, hint):
        h = nn.swish(nn.Conv(self.hidden, (3, 3), dtype=self.dtype)(hint))
        h = nn.swish(nn.Conv(self.hidden, (3, 3), dtype=self.dtype)(h))
        return nn.Conv(self.out_channels, (3, 3), dtype=self.dtype,
                       kernel_init=nn.initializers.zeros)(h)


class ZeroConvs(nn.Module):
    """One zero-initialised 1×1 convolution per feature map (Conv_i for feature i)."""

    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, features):
        return [nn.Conv(f.shape[-1], (1, 1), dtype=self.dtype, kernel_init=nn.initializers.zeros,
                        bias_init=nn.initializers.zeros)(f) for f in features]


class ControlNet(nn.Module):
    """Call: (x [B,H,W,C], hint [B,H,W,Ch], t [B], labels [B] or None, train) -> the list of
    residuals UNet(..., control=) takes: one per skip connection, then one for the middle block.
    The fields up to dtype are the controlled U-Net's (controlnet_for builds it from one)."""

    channels: int = 64
    channel_mult: Sequence[int] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: Sequence[int] = (7,)
    num_heads: int = 4
    dropout: float = 0.0
    num_classes: int | None = None
    dtype: jnp.dtype | None = None
    hint_channels: int = 16

    @nn.compact
    def __call__(self, x, hint, t, labels=None, train: bool = False):
        b = x.shape[0]
        # --- UNet.__call__'s encoder, line for line (same module order -> same parameter names)
        emb_dim = 4 * self.channels
        emb = timestep_embedding(t, self.channels)
        emb = nn.Dense(emb_dim, dtype=self.dtype)(emb)
        emb = nn.Dense(emb_dim, dtype=self.dtype)(nn.swish(emb))
        if self.num_classes is not None:
            if labels is None:
                labels = jnp.full((b,), self.num_classes, jnp.int32)
            emb = emb + nn.Embed(self.num_classes + 1, emb_dim, dtype=self.dtype)(labels)

        h = nn.Conv(self.channels, (3, 3), dtype=self.dtype)(x)
        h = h + HintEncoder(self.hint_channels, self.channels, self.dtype, name="hint_encoder")(hint)
        skips = [h]
        for level, mult in enumerate(self.channel_mult):
            for _ in range(self.num_res_blocks):
                h = ResBlock(self.channels * mult, self.dropout, self.dtype)(h, emb, train)
                if h.shape[1] in self.attention_resolutions:
                    h = SelfAttention2D(self.num_heads, self.dtype)(h)
                skips.append(h)
            if level != len(self.channel_mult) - 1:
                h = nn.Conv(h.shape[-1], (3, 3), strides=(2, 2), dtype=self.dtype)(h)
                skips.append(h)

        h = ResBlock(h.shape[-1], self.dropout, self.dtype)(h, emb, train)
        h = SelfAttention2D(self.num_heads, self.dtype)(h)
        h = ResBlock(h.shape[-1], self.dropout, self.dtype)(h, emb, train)
        # --- the zero convolutions: skips in order, then the middle block
        return ZeroConvs(self.dtype, name="zero_convs")([*skips, h])


def controlnet_for(unet: UNet, hint_channels: int = 16) -> ControlNet:
    """The ControlNet whose encoder matches `unet`'s (same widths, levels, attention, classes)."""
    return ControlNet(channels=unet.channels, channel_mult=tuple(unet.channel_mult),
                      num_res_blocks=unet.num_res_blocks,
                      attention_resolutions=tuple(unet.attention_resolutions),
                      num_heads=unet.num_heads, dropout=unet.dropout, num_classes=unet.num_classes,
                      dtype=unet.dtype, hint_channels=hint_channels)


def copy_encoder_params(control_params: dict, unet_params: dict) -> dict:
    """control_params with every encoder parameter replaced by the U-Net's parameter of the same
    name (all but ADDED). Raises if one is missing from the U-Net or has another shape."""
    out = dict(control_params)
    for name, sub in control_params.items():
        if name in ADDED:
            continue
        if name not in unet_params:
            raise ValueError(f"ControlNet parameter {name!r} has no counterpart in the U-Net")
        shapes = jax.tree.map(jnp.shape, sub)
        if jax.tree.map(jnp.shape, unet_params[name]) != shapes:
            raise ValueError(f"ControlNet parameter {name!r}: shapes {shapes} differ from the "
                             f"U-Net's {jax.tree.map(jnp.shape, unet_params[name])}")
        out[name] = unet_params[name]
    return out
