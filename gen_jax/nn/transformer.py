"""A transformer over a flattened token grid (pre-LayerNorm blocks, learned position embeddings,
a class embedding with one extra "null" class for classifier-free guidance).

causal=True: a decoder-only model (GPT-style, as in VQGAN's stage 2, Esser et al. 2021). The input
at position i is the class embedding for i = 0 and the embedding of token i-1 after that, so the
logits at position i predict token i from the class and tokens < i. `decode_step` runs one position
against a key/value cache (a tuple of per-layer (k, v) arrays [B, L, heads, head_dim]), written at
the position and masked beyond it, so raster sampling costs one token's work per step.

causal=False: the bidirectional model of MaskGIT (Chang et al. 2022). Tokens may be the extra
mask id `vocab_size`; the class embedding is prepended as one more position, and the logits at
every token position predict that token.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def attend(q, k, v, mask):
    """Softmax attention: q [B, Lq, H, D], k/v [B, Lk, H, D], mask [Lq, Lk] (True: may attend)
    -> [B, Lq, H, D]. Masked logits are -inf, so they add exactly 0 (cached and full agree)."""
    logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(q.shape[-1]).astype(q.dtype)
    logits = jnp.where(mask[None, None], logits, -jnp.inf)
    return jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(logits, axis=-1), v)


class Block(nn.Module):
    width: int
    num_heads: int
    mlp_ratio: int = 4

    def setup(self):
        self.ln1 = nn.LayerNorm()
        self.qkv = nn.Dense(3 * self.width)
        self.proj = nn.Dense(self.width)
        self.ln2 = nn.LayerNorm()
        self.fc1 = nn.Dense(self.mlp_ratio * self.width)
        self.fc2 = nn.Dense(self.width)

    def _qkv(self, x):
        b, l, _ = x.shape
        q, k, v = jnp.split(self.qkv(self.ln1(x)), 3, axis=-1)
        shape = (b, l, self.num_heads, self.width // self.num_heads)
        return q.reshape(shape), k.reshape(shape), v.reshape(shape)

    def _finish(self, x, a):
        x = x + self.proj(a.reshape(*a.shape[:2], self.width))
        return x + self.fc2(nn.gelu(self.fc1(self.ln2(x))))

    def __call__(self, x, mask):
        """x [B, L, W], mask [L, L] -> ([B, L, W], (k, v) each [B, L, heads, head_dim])."""
        q, k, v = self._qkv(x)
        return self._finish(x, attend(q, k, v, mask)), (k, v)

    def step(self, x, pos, cache):
        """One position: x [B, 1, W] at index pos (a traced int), cache (k, v) [B, L, H, D] holding
        positions < pos -> ([B, 1, W], cache with position pos written)."""
        q, k, v = self._qkv(x)
        k_cache = jax.lax.dynamic_update_slice_in_dim(cache[0], k, pos, axis=1)
        v_cache = jax.lax.dynamic_update_slice_in_dim(cache[1], v, pos, axis=1)
        mask = (jnp.arange(k_cache.shape[1]) <= pos)[None, :]
        return self._finish(x, attend(q, k_cache, v_cache, mask)), (k_cache, v_cache)


class TokenTransformer(nn.Module):
    """Logits over the vocabulary for each of seq_len token positions (see the module docstring).
    labels [B] in [0, num_classes) or the null class `num_classes` (0 when unconditional)."""

    vocab_size: int                     # K codes (the bidirectional model adds a mask id K)
    seq_len: int                        # L = h·w token positions, raster order
    num_classes: int | None = None      # None: unconditional (only the null class exists)
    width: int = 128
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: int = 4
    causal: bool = True

    @property
    def null_class(self) -> int:
        return self.num_classes or 0

    @property
    def mask_id(self) -> int:
        return self.vocab_size

    def setup(self):
        self.tok_emb = nn.Embed(self.vocab_size + (0 if self.causal else 1), self.width)
        self.cls_emb = nn.Embed(self.null_class + 1, self.width)
        n_pos = self.seq_len if self.causal else self.seq_len + 1
        self.pos_emb = self.param("pos_emb", nn.initializers.normal(0.02), (n_pos, self.width))
        self.blocks = [Block(self.width, self.num_heads, self.mlp_ratio) for _ in range(self.depth)]
        self.ln_f = nn.LayerNorm()
        self.head = nn.Dense(self.vocab_size)

    def _labels(self, labels, batch: int):
        return jnp.full((batch,), self.null_class, jnp.int32) if labels is None else labels

    def __call__(self, tokens, labels=None):
        """tokens [B, L] int -> logits [B, L, K] (float32)."""
        b, length = tokens.shape
        cls = self.cls_emb(self._labels(labels, b))[:, None]              # [B, 1, W]
        if self.causal:  # shift right: position i sees the class and tokens < i
            x = jnp.concatenate([cls, self.tok_emb(tokens[:, :-1])], axis=1)
            mask = jnp.tril(jnp.ones((length, length), bool))
        else:
            x = jnp.concatenate([cls, self.tok_emb(tokens)], axis=1)
            mask = jnp.ones((length + 1, length + 1), bool)
        x = x + self.pos_emb[None, : x.shape[1]]
        for blk in self.blocks:
            x, _ = blk(x, mask)
        logits = self.head(self.ln_f(x))
        return logits if self.causal else logits[:, 1:]

    def decode_step(self, prev_token, labels, pos, cache):
        """Causal model only. prev_token [B] (token pos-1; unused at pos 0), labels [B] or None,
        pos a traced int, cache from init_cache -> (logits [B, K] for token pos, new cache)."""
        b = prev_token.shape[0]
        x = jnp.where(pos == 0, self.cls_emb(self._labels(labels, b)), self.tok_emb(prev_token))
        x = (x + jax.lax.dynamic_index_in_dim(self.pos_emb, pos, keepdims=False))[:, None]
        new_cache = []
        for blk, c in zip(self.blocks, cache):
            x, c = blk.step(x, pos, c)
            new_cache.append(c)
        return self.head(self.ln_f(x))[:, 0], tuple(new_cache)

    def init_cache(self, batch: int, dtype=jnp.float32):
        """Zeros: a tuple over layers of (k, v), each [batch, L, heads, head_dim]."""
        shape = (batch, self.seq_len, self.num_heads, self.width // self.num_heads)
        return tuple((jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in range(self.depth))
