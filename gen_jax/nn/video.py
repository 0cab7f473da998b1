"""Networks for super-resolution and video, built from the image U-Net's layers.

VideoUNet: a factorised space-time U-Net (Ho et al. 2022, "Video Diffusion Models", sec. 3): the
image U-Net's spatial layers run on every frame, and after each residual block a temporal
attention layer mixes the frames at every pixel, with a sinusoidal embedding of the frame index
added to its input. Its output projections are zero-initialised, and so is the convolution that
brings in the masked-frame conditioning, so a fresh VideoUNet computes exactly the image U-Net
frame by frame, and image weights can start a video run (`image_params_to_video`).

SRConditioned: a super-resolution wrapper (SR3, Saharia et al. 2021; Ho et al. 2021): the backbone
sees x_t concatenated with the upsampled low-resolution image and a constant channel holding the
noise-augmentation level of that image.
"""

from __future__ import annotations

from typing import Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp

from gen_jax.nn.layers import SelfAttention2D, group_norm, timestep_embedding
from gen_jax.nn.unet import ResBlock

TEMPORAL_PREFIXES = ("TemporalAttention_", "cond_in")  # the parameters an image U-Net lacks


class TemporalAttention(nn.Module):
    """h [B·T, H, W, C] + attention across the T frames at each pixel, with the frame index's
    sinusoidal embedding added to the (normalised) queries and keys; zero-initialised output."""

    num_frames: int
    num_heads: int = 4
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, h):
        bt, hh, ww, c = h.shape
        b, T = bt // self.num_frames, self.num_frames
        y = h.reshape(b, T, hh * ww, c).transpose(0, 2, 1, 3).reshape(b * hh * ww, T, c)
        y = group_norm(c, dtype=self.dtype)(y)
        y = y + timestep_embedding(jnp.arange(T), c).astype(y.dtype)[None]
        y = nn.MultiHeadDotProductAttention(num_heads=self.num_heads, dtype=self.dtype,
                                            out_kernel_init=nn.initializers.zeros)(y)
        y = y.reshape(b, hh * ww, T, c).transpose(0, 2, 1, 3).reshape(bt, hh, ww, c)
        return h + y.astype(h.dtype)


class VideoUNet(nn.Module):
    """Call: (x [B, T, H, W, C], t [B], labels [B] or None, train, *, cond [B, T, H, W, K] or None)
    -> [B, T, H, W, C]. The spatial layers (and their parameter names) are those of nn.unet.UNet
    with the same fields; cond (e.g. known frames and their mask) enters through a zero-initialised
    3×3 convolution added to the first feature map. cond_channels = K (0: no conditioning input)."""

    channels: int = 64
    channel_mult: Sequence[int] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: Sequence[int] = (7,)
    num_heads: int = 4
    dropout: float = 0.0
    num_classes: int | None = None
    out_channels: int | None = None
    cond_channels: int = 0
    temporal_heads: int = 4
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, t, labels=None, train: bool = False, *, cond=None):
        b, T, height, width, c_in = x.shape
        factor = 2 ** (len(self.channel_mult) - 1)
        if height % factor or width % factor:
            raise ValueError(f"VideoUNet with {len(self.channel_mult)} levels needs H and W "
                             f"divisible by {factor}; got {height}x{width}")
        frames = x.reshape(b * T, height, width, c_in)
        emb_dim = 4 * self.channels
        emb = timestep_embedding(t, self.channels)
        emb = nn.Dense(emb_dim, dtype=self.dtype)(emb)
        emb = nn.Dense(emb_dim, dtype=self.dtype)(nn.swish(emb))
        if self.num_classes is not None:
            if labels is None:
                labels = jnp.full((b,), self.num_classes, jnp.int32)
            emb = emb + nn.Embed(self.num_classes + 1, emb_dim, dtype=self.dtype)(labels)
        emb = jnp.repeat(emb, T, axis=0)  # one clip's conditioning for each of its frames

        def temporal(h):
            return TemporalAttention(T, self.temporal_heads, self.dtype)(h)

        h = nn.Conv(self.channels, (3, 3), dtype=self.dtype)(frames)
        if self.cond_channels:
            if cond is None:
                cond = jnp.zeros((b, T, height, width, self.cond_channels), x.dtype)
            h = h + nn.Conv(self.channels, (3, 3), dtype=self.dtype, name="cond_in",
                            kernel_init=nn.initializers.zeros)(
                cond.reshape(b * T, height, width, self.cond_channels))
        skips = [h]
        for level, mult in enumerate(self.channel_mult):
            for _ in range(self.num_res_blocks):
                h = ResBlock(self.channels * mult, self.dropout, self.dtype)(h, emb, train)
                if h.shape[1] in self.attention_resolutions:
                    h = SelfAttention2D(self.num_heads, self.dtype)(h)
                h = temporal(h)
                skips.append(h)
            if level != len(self.channel_mult) - 1:
                h = nn.Conv(h.shape[-1], (3, 3), strides=(2, 2), dtype=self.dtype)(h)
                skips.append(h)

        h = ResBlock(h.shape[-1], self.dropout, self.dtype)(h, emb, train)
        h = SelfAttention2D(self.num_heads, self.dtype)(h)
        h = temporal(h)
        h = ResBlock(h.shape[-1], self.dropout, self.dtype)(h, emb, train)

        for level, mult in reversed(list(enumerate(self.channel_mult))):
            for _ in range(self.num_res_blocks + 1):
                h = jnp.concatenate([h, skips.pop()], axis=-1)
                h = ResBlock(self.channels * mult, self.dropout, self.dtype)(h, emb, train)
                if h.shape[1] in self.attention_resolutions:
                    h = SelfAttention2D(self.num_heads, self.dtype)(h)
                h = temporal(h)
            if level != 0:
                bb, hh, ww, cc = h.shape
                h = jax.image.resize(h, (bb, hh * 2, ww * 2, cc), "nearest")
                h = nn.Conv(cc, (3, 3), dtype=self.dtype)(h)

        h = nn.swish(group_norm(h.shape[-1], dtype=self.dtype)(h))
        out = nn.Conv(self.out_channels or c_in, (3, 3), dtype=self.dtype,
                      kernel_init=nn.initializers.zeros)(h)
        return out.astype(jnp.float32).reshape(b, T, height, width, -1)


def image_params_of(video_params):
    """The image U-Net's parameters inside a VideoUNet's (the temporal and cond layers dropped)."""
    return {k: v for k, v in video_params.items() if not k.startswith(TEMPORAL_PREFIXES)}


def image_params_to_video(image_params, video_params):
    """video_params with every spatial layer replaced by the trained image U-Net's: the start of a
    video run from an image run. Raises ValueError naming a layer whose shape differs."""
    out = dict(video_params)
    for k, v in image_params.items():
        if k not in out:
            raise ValueError(f"image parameters have layer {k!r}, which the video network lacks")
        a, b = jax.tree.map(jnp.shape, v), jax.tree.map(jnp.shape, out[k])
        if a != b:
            raise ValueError(f"layer {k!r}: image shapes {a} differ from the video network's {b}")
        out[k] = v
    missing = set(image_params_of(video_params)) - set(image_params)
    if missing:
        raise ValueError(f"image parameters lack the video network's spatial layers {sorted(missing)}")
    return flax.core.freeze(out) if isinstance(video_params, flax.core.FrozenDict) else out


class SRConditioned(nn.Module):
    """Call: (x_t [B, H, W, C], t [B], labels, train, *, lowres_up [B, H, W, C], aug_level [B])
    -> backbone(concat[x_t, lowres_up, aug_level·1]) [B, H, W, C]. The backbone (a UNet or DiT
    with out_channels = C) gets 2C + 1 input channels; the augmentation level s ∈ [0, 1] of the
    low-resolution image enters as a constant channel (Ho et al. 2021, sec. 4.2: condition on it)."""

    backbone: nn.Module

    @nn.compact
    def __call__(self, x_t, t, labels=None, train: bool = False, *, lowres_up, aug_level):
        level = jnp.broadcast_to(jnp.asarray(aug_level, x_t.dtype).reshape(-1, 1, 1, 1),
                                 x_t.shape[:3] + (1,))
        h = jnp.concatenate([x_t, lowres_up.astype(x_t.dtype), level], axis=-1)
        out = self.backbone(h, t, labels, train)
        if out.shape != x_t.shape:
            raise ValueError(f"SRConditioned: the backbone returned {out.shape}, expected x_t's "
                             f"{x_t.shape} (set its out_channels to {x_t.shape[-1]})")
        return out
