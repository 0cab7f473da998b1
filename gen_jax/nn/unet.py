"""The DDPM / ADM U-Net (Ho et al. 2020; Dhariwal & Nichol 2021) for x [B, H, W, C].

Residual blocks with GroupNorm and timestep scale/shift (AdaGN: h = GN(h)·(1 + s) + b),
self-attention at chosen resolutions, channel multipliers per level, optional class embedding
with a null class (index num_classes) for classifier-free guidance; optional text conditioning
(cross_attention=True): cross-attention to token embeddings after each self-attention, and the pooled
embedding (context[:, 0]) added to the timestep embedding (Rombach et al. 2022, Stable Diffusion).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen_jax.nn.layers import CrossAttention2D, SelfAttention2D, group_norm, timestep_embedding


class ResBlock(nn.Module):
    """Residual block. scale_shift=True: the timestep embedding modulates the second GroupNorm
    (AdaGN, h = GN(h)·(1 + s) + b); False: it is added before that norm (DDPM's original block,
    diffusers' resnet_time_scale_shift="default")."""

    out_channels: int
    dropout: float = 0.0
    dtype: jnp.dtype | None = None
    scale_shift: bool = True
    norm_groups: int = 32
    norm_eps: float = 1e-6

    @nn.compact
    def __call__(self, x, emb, train: bool):
        gn = lambda c: group_norm(c, self.norm_groups, self.dtype, self.norm_eps)  # noqa: E731
        h = nn.swish(gn(x.shape[-1])(x))
        h = nn.Conv(self.out_channels, (3, 3), dtype=self.dtype)(h)
        if self.scale_shift:
            scale, shift = jnp.split(nn.Dense(2 * self.out_channels, dtype=self.dtype)(nn.swish(emb)), 2, -1)
            h = gn(self.out_channels)(h) * (1 + scale[:, None, None]) + shift[:, None, None]
        else:
            h = h + nn.Dense(self.out_channels, dtype=self.dtype)(nn.swish(emb))[:, None, None]
            h = gn(self.out_channels)(h)
        h = nn.Dropout(self.dropout, deterministic=not train)(nn.swish(h))
        h = nn.Conv(self.out_channels, (3, 3), dtype=self.dtype, kernel_init=nn.initializers.zeros)(h)
        if x.shape[-1] != self.out_channels:
            x = nn.Conv(self.out_channels, (1, 1), dtype=self.dtype)(x)
        return x + h


class UNet(nn.Module):
    """ε/x0/v network. Call: (x [B,H,W,C], t [B], labels [B] int or None, train) -> [B,H,W,C].

    H and W must be divisible by 2^(len(channel_mult) − 1). Labels equal to num_classes (the null
    class) mean "unconditional". context [B, L, D]: text token embeddings whose first token is the
    pooled one (nn.text.TextEncoder); used only when cross_attention is set, ignored otherwise.
    control: ControlNet residuals (gen_jax/nn/controlnet.py), one per skip connection in order,
    then one for the middle block; None leaves the network unchanged.
    """

    channels: int = 64
    channel_mult: Sequence[int] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: Sequence[int] = (7,)
    num_heads: int = 4
    dropout: float = 0.0
    num_classes: int | None = None
    out_channels: int | None = None
    cross_attention: bool = False    # text conditioning by context (see the class docstring)
    dtype: jnp.dtype | None = None
    # Options for imported checkpoints (gen_jax/interop/unet.py); the defaults are gen_jax's own U-Net.
    time_flip_sin_to_cos: bool = True   # timestep embedding halves [cos, sin]; False: [sin, cos]
    time_freq_shift: float = 0.0        # frequencies 10000^(−k/(half − shift))
    time_scale_shift: bool = True       # AdaGN in the res blocks; False: the embedding is added
    norm_groups: int = 32               # GroupNorm groups (the largest count <= this dividing C)
    norm_eps: float = 1e-6              # GroupNorm epsilon
    attention_head_dim: int | None = None  # heads = C // attention_head_dim; None: num_heads
    downsample_padding: int | None = None  # None: SAME (pads 0 before, 1 after); 1: 1 on each side

    @nn.compact
    def __call__(self, x, t, labels=None, train: bool = False, *, context=None, control=None):
        b, height, width, c_in = x.shape
        factor = 2 ** (len(self.channel_mult) - 1)
        if height % factor or width % factor:
            raise ValueError(f"UNet with {len(self.channel_mult)} levels needs H and W divisible by "
                             f"{factor}; got {height}x{width}")
        emb_dim = 4 * self.channels
        emb = timestep_embedding(t, self.channels, flip_sin_to_cos=self.time_flip_sin_to_cos,
                                 freq_shift=self.time_freq_shift)
        emb = nn.Dense(emb_dim, dtype=self.dtype)(emb)
        emb = nn.Dense(emb_dim, dtype=self.dtype)(nn.swish(emb))
        if self.num_classes is not None:
            if labels is None:
                labels = jnp.full((b,), self.num_classes, jnp.int32)
            emb = emb + nn.Embed(self.num_classes + 1, emb_dim, dtype=self.dtype)(labels)
        if self.cross_attention:
            if context is None:
                raise ValueError("UNet(cross_attention=True) needs context [B, L, D] (text embeddings)")
            emb = emb + nn.Dense(emb_dim, dtype=self.dtype, name="context_proj")(context[:, 0])
        else:
            context = None

        def res(h, channels):
            return ResBlock(channels, self.dropout, self.dtype, self.time_scale_shift,
                            self.norm_groups, self.norm_eps)(h, emb, train)

        def attend(h):  # self-attention, then (text runs) cross-attention to the context
            heads = h.shape[-1] // self.attention_head_dim if self.attention_head_dim else self.num_heads
            h = SelfAttention2D(heads, self.dtype, self.norm_groups, self.norm_eps)(h)
            if context is not None:
                h = CrossAttention2D(self.num_heads, self.dtype)(h, context)
            return h

        h = nn.Conv(self.channels, (3, 3), dtype=self.dtype)(x)
        skips = [h]
        for level, mult in enumerate(self.channel_mult):
            for _ in range(self.num_res_blocks):
                h = res(h, self.channels * mult)
                if h.shape[1] in self.attention_resolutions:
                    h = attend(h)
                skips.append(h)
            if level != len(self.channel_mult) - 1:
                pad = "SAME" if self.downsample_padding is None else [(self.downsample_padding, 1)] * 2
                h = nn.Conv(h.shape[-1], (3, 3), strides=(2, 2), padding=pad, dtype=self.dtype)(h)
                skips.append(h)

        h = res(h, h.shape[-1])
        h = attend(h)
        h = res(h, h.shape[-1])
        if control is not None:  # ControlNet (Zhang et al. 2023, fig. 3): added to skips and middle
            if len(control) != len(skips) + 1:
                raise ValueError(f"control: expected {len(skips) + 1} residuals (skips + middle), "
                                 f"got {len(control)}")
            skips = [s + r for s, r in zip(skips, control)]
            h = h + control[-1]

        for level, mult in reversed(list(enumerate(self.channel_mult))):
            for _ in range(self.num_res_blocks + 1):
                h = jnp.concatenate([h, skips.pop()], axis=-1)
                h = res(h, self.channels * mult)
                if h.shape[1] in self.attention_resolutions:
                    h = attend(h)
            if level != 0:
                bb, hh, ww, cc = h.shape
                h = jax.image.resize(h, (bb, hh * 2, ww * 2, cc), "nearest")
                h = nn.Conv(cc, (3, 3), dtype=self.dtype)(h)

        h = nn.swish(group_norm(h.shape[-1], self.norm_groups, self.dtype, self.norm_eps)(h))
        out = nn.Conv(self.out_channels or c_in, (3, 3), dtype=self.dtype,
                      kernel_init=nn.initializers.zeros)(h)
        return out.astype(jnp.float32)
