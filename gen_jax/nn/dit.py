"""Diffusion Transformer, DiT (Peebles & Xie 2023, "Scalable Diffusion Models with Transformers").

x [B, H, W, C] is cut into p×p patches (a stride-p conv), each patch a token with a fixed 2-D
sin-cos position embedding; transformer blocks are modulated by the timestep (+ class) embedding
through adaLN-Zero: LayerNorm without affine, then per-block shift/scale from the conditioning, and
a gate on each residual branch. Modulation and output layers are zero-initialised, so a fresh
model outputs exactly 0 and every block starts as the identity (paper §3.2). Optional text
conditioning (cross_attention=True): cross-attention to the token embeddings in each block, between
self-attention and MLP (PixArt-α, Chen et al. 2023), and the pooled embedding added to the timestep
embedding.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from gen_jax.nn.layers import CrossAttention, timestep_embedding


def patchify(x, p: int):
    """x [B, H, W, C] -> tokens [B, (H/p)·(W/p), p·p·C], row-major over the patch grid."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def unpatchify(tokens, p: int, h: int, w: int):
    """Inverse of patchify: tokens [B, (h/p)·(w/p), p·p·C] -> [B, h, w, C]."""
    b, n, d = tokens.shape
    c = d // (p * p)
    x = tokens.reshape(b, h // p, w // p, p, p, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


def sincos_pos_embed_2d(dim: int, gh: int, gw: int, col_first: bool = False) -> np.ndarray:
    """Fixed 2-D sin-cos position embedding [gh·gw, dim] (MAE / DiT): half the channels encode the
    row, half the column, each with the 1-D sin-cos of timestep_embedding's frequencies.
    col_first: the first half encodes the column (the MAE/DiT reference code and diffusers)."""
    if dim % 4:
        raise ValueError(f"DiT hidden_size must be divisible by 4 for the 2-D sin-cos embedding; got {dim}")
    rows, cols = np.meshgrid(np.arange(gh, dtype=np.float64), np.arange(gw, dtype=np.float64), indexing="ij")

    def emb_1d(pos):
        omega = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim // 4))
        out = pos.reshape(-1)[:, None] * omega[None]
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    halves = [emb_1d(cols), emb_1d(rows)] if col_first else [emb_1d(rows), emb_1d(cols)]
    return np.concatenate(halves, axis=1).astype(np.float32)


def modulate(x, shift, scale):
    """adaLN: x [B, N, D] with per-sample shift/scale [B, D]."""
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    hidden_size: int
    num_heads: int
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    dtype: jnp.dtype | None = None
    cross_attention: bool = False
    mlp_norm_eps: float = 1e-6  # epsilon of the LayerNorm before the MLP (diffusers' norm_eps)

    @nn.compact
    def __call__(self, x, cond, train: bool, context=None):
        d = self.hidden_size
        mod = nn.Dense(6 * d, dtype=self.dtype, kernel_init=nn.initializers.zeros)(nn.silu(cond))
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = jnp.split(mod, 6, axis=-1)
        ln = functools.partial(nn.LayerNorm, use_bias=False, use_scale=False, epsilon=1e-6, dtype=self.dtype)
        h = modulate(ln()(x), shift_msa, scale_msa)
        h = nn.MultiHeadDotProductAttention(num_heads=self.num_heads, dtype=self.dtype)(h)
        x = x + gate_msa[:, None] * h
        if self.cross_attention:  # zero-initialised output: the block still starts as the identity
            x = x + CrossAttention(self.num_heads, self.dtype, name="cross_attn")(
                nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="cross_norm")(x), context.astype(x.dtype))
        h = modulate(ln(epsilon=self.mlp_norm_eps)(x), shift_mlp, scale_mlp)
        h = nn.gelu(nn.Dense(int(d * self.mlp_ratio), dtype=self.dtype)(h), approximate=True)
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
        h = nn.Dense(d, dtype=self.dtype)(h)
        return x + gate_mlp[:, None] * h


class DiT(nn.Module):
    """ε/x0/v network. Call: (x [B,H,W,C], t [B], labels [B] int or None, train) -> [B,H,W,C_out],
    the same as UNet. H and W must be divisible by patch_size. Labels equal to num_classes (the
    null class) mean "unconditional"; labels=None is the null class. context [B, L, D]: text token
    embeddings whose first token is the pooled one (nn.text.TextEncoder); used only when
    cross_attention is set, ignored otherwise."""

    patch_size: int = 2
    hidden_size: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    num_classes: int | None = None
    out_channels: int | None = None
    frequency_dim: int = 256           # width of the sinusoidal timestep features
    cross_attention: bool = False      # text conditioning by context (see the class docstring)
    dtype: jnp.dtype | None = None
    # Options for imported checkpoints (gen_jax/interop/dit.py); the defaults are gen_jax's own DiT.
    time_freq_shift: float = 0.0       # timestep frequencies 10000^(−k/(half − shift))
    pos_embed_col_first: bool = False  # position embedding halves (column, row), as diffusers
    mlp_norm_eps: float = 1e-6         # LayerNorm epsilon before each block's MLP

    @nn.compact
    def __call__(self, x, t, labels=None, train: bool = False, *, context=None):
        b, height, width, c_in = x.shape
        p, d = self.patch_size, self.hidden_size
        if height % p or width % p:
            raise ValueError(f"DiT with patch_size={p} needs H and W divisible by {p}; got {height}x{width}")
        if d % self.num_heads:
            raise ValueError(f"DiT hidden_size={d} must be divisible by num_heads={self.num_heads}")
        gh, gw = height // p, width // p

        # Patch embedding: a stride-p conv is a linear map of each flattened patch.
        h = nn.Conv(d, (p, p), strides=(p, p), padding="VALID", dtype=self.dtype)(x).reshape(b, gh * gw, d)
        h = h + jnp.asarray(sincos_pos_embed_2d(d, gh, gw, self.pos_embed_col_first), h.dtype)[None]

        cond = timestep_embedding(t, self.frequency_dim, freq_shift=self.time_freq_shift)
        cond = nn.Dense(d, dtype=self.dtype)(cond)
        cond = nn.Dense(d, dtype=self.dtype)(nn.silu(cond))
        if self.num_classes is not None:
            if labels is None:
                labels = jnp.full((b,), self.num_classes, jnp.int32)
            cond = cond + nn.Embed(self.num_classes + 1, d, dtype=self.dtype)(labels)
        if self.cross_attention:
            if context is None:
                raise ValueError("DiT(cross_attention=True) needs context [B, L, D] (text embeddings)")
            cond = cond + nn.Dense(d, dtype=self.dtype, name="context_proj")(context[:, 0])
        else:
            context = None

        for _ in range(self.depth):
            h = DiTBlock(d, self.num_heads, self.mlp_ratio, self.dropout, self.dtype,
                         self.cross_attention, self.mlp_norm_eps)(h, cond, train, context)

        # Final adaLN layer: shift/scale, then a zero-initialised linear map back to patches.
        shift, scale = jnp.split(nn.Dense(2 * d, dtype=self.dtype, kernel_init=nn.initializers.zeros)(
            nn.silu(cond)), 2, axis=-1)
        h = modulate(nn.LayerNorm(use_bias=False, use_scale=False, epsilon=1e-6, dtype=self.dtype)(h),
                     shift, scale)
        c_out = self.out_channels or c_in
        h = nn.Dense(p * p * c_out, dtype=self.dtype, kernel_init=nn.initializers.zeros)(h)
        return unpatchify(h, p, height, width).astype(jnp.float32)


# Presets (paper Table 1): S = depth 12, width 384, 6 heads; B = depth 12, width 768, 12 heads.
DiT_S2 = functools.partial(DiT, depth=12, hidden_size=384, num_heads=6, patch_size=2)
DiT_S4 = functools.partial(DiT, depth=12, hidden_size=384, num_heads=6, patch_size=4)
DiT_B2 = functools.partial(DiT, depth=12, hidden_size=768, num_heads=12, patch_size=2)
DiT_B4 = functools.partial(DiT, depth=12, hidden_size=768, num_heads=12, patch_size=4)
DiT_Tiny = functools.partial(DiT, depth=2, hidden_size=32, num_heads=2, patch_size=2, frequency_dim=32)
