"""Shared layers: sinusoidal timestep embedding, self-attention, GroupNorm helper."""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp


def timestep_embedding(t, dim: int, max_period: float = 10000.0, flip_sin_to_cos: bool = True,
                       freq_shift: float = 0.0):
    """Sinusoidal embedding of (possibly fractional) timesteps t [B] -> [B, dim] (Vaswani et al.).

    [cos, sin] halves with frequencies max_period^(−k/(half − freq_shift)); flip_sin_to_cos=False
    gives [sin, cos] (diffusers' `Timesteps(flip_sin_to_cos, downscale_freq_shift)`, e.g. the DDPM
    checkpoints' False, 1)."""
    half = dim // 2
    denom = half - freq_shift if freq_shift else half
    freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / denom)
    args = jnp.asarray(t, jnp.float32)[:, None] * freqs[None]
    halves = [jnp.cos(args), jnp.sin(args)]
    emb = jnp.concatenate(halves if flip_sin_to_cos else halves[::-1], axis=-1)
    if dim % 2:
        emb = jnp.pad(emb, ((0, 0), (0, 1)))
    return emb


def group_norm(channels: int, max_groups: int = 32, dtype=None, eps: float = 1e-6) -> nn.GroupNorm:
    """GroupNorm with the largest group count ≤ max_groups that divides `channels`."""
    groups = max(g for g in range(1, max_groups + 1) if channels % g == 0)
    return nn.GroupNorm(num_groups=groups, dtype=dtype, epsilon=eps)


class SelfAttention2D(nn.Module):
    """Multi-head self-attention over the H·W positions of x [B, H, W, C], with a residual."""

    num_heads: int = 4
    dtype: jnp.dtype | None = None
    norm_groups: int = 32     # GroupNorm: the largest group count <= this dividing C
    norm_eps: float = 1e-6

    @nn.compact
    def __call__(self, x):
        b, h, w, c = x.shape
        y = group_norm(c, self.norm_groups, self.dtype, self.norm_eps)(x).reshape(b, h * w, c)
        y = nn.MultiHeadDotProductAttention(num_heads=self.num_heads, dtype=self.dtype,
                                            out_kernel_init=nn.initializers.zeros)(y)
        return x + y.reshape(b, h, w, c)


class CrossAttention(nn.Module):
    """Multi-head cross-attention of tokens x [B, N, C] (queries) to context [B, L, D] (keys and
    values), C-wide output. The output projection is zero-initialised, so a fresh layer outputs 0
    (x + CrossAttention(x, c) starts as the identity, as in Stable Diffusion's and PixArt-α's
    text conditioning). The caller normalises x and adds the residual."""

    num_heads: int = 4
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, context):
        return nn.MultiHeadDotProductAttention(num_heads=self.num_heads, dtype=self.dtype,
                                               out_kernel_init=nn.initializers.zeros)(x, context)


class CrossAttention2D(nn.Module):
    """x [B, H, W, C] + CrossAttention(GroupNorm(x) over the H·W positions, context [B, L, D])."""

    num_heads: int = 4
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x, context):
        b, h, w, c = x.shape
        y = group_norm(c, dtype=self.dtype)(x).reshape(b, h * w, c)
        y = CrossAttention(self.num_heads, self.dtype)(y, context.astype(y.dtype))
        return x + y.reshape(b, h, w, c)
