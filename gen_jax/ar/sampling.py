"""Decoding token grids: raster order (one position per step of a lax.scan, against a KV cache)
and MaskGIT's parallel decoding with a cosine mask schedule (Chang et al. 2022, sec. 3.2).

Temperature, top-k and top-p are runtime values (traced scalars), so one compilation serves a
sweep. Randomness is per sample: sample b at position/step t draws with fold_in(keys[b], t), so a
sample never depends on the batch it was drawn in. Each decoder has a debug path running the same
body in a Python loop (tests assert that both agree)."""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp


def filter_logits(logits, temperature, top_k, top_p):
    """logits [..., K] / temperature, keeping the top_k largest (top_k <= 0: all) and then the
    smallest set whose probability reaches top_p (nucleus sampling, Holtzman et al. 2020; top_p >=
    1: all); the others become -inf. Ties at a threshold are all kept."""
    num = logits.shape[-1]
    logits = logits / jnp.maximum(temperature, 1e-6)
    desc = -jnp.sort(-logits, axis=-1)
    k = jnp.where(top_k > 0, jnp.minimum(top_k, num), num)
    kth = jnp.take_along_axis(desc, jnp.broadcast_to(k - 1, logits.shape[:-1])[..., None], axis=-1)
    logits = jnp.where(logits < kth, -jnp.inf, logits)
    desc = -jnp.sort(-logits, axis=-1)
    probs = jax.nn.softmax(desc, axis=-1)
    keep = (jnp.cumsum(probs, axis=-1) - probs < top_p) | (top_p >= 1.0)  # the first always stays
    thresh = jnp.min(jnp.where(keep, desc, jnp.inf), axis=-1, keepdims=True)
    return jnp.where(logits < thresh, -jnp.inf, logits)


def sample_tokens(keys, logits, temperature, top_k, top_p):
    """One token per row: keys [B, 2], logits [B, ..., K] -> [B, ...] int32. temperature 0 is
    greedy (argmax)."""
    filtered = filter_logits(logits, temperature, top_k, top_p)
    drawn = jax.vmap(lambda k, l: jax.random.categorical(k, l, axis=-1))(keys, filtered)
    return jnp.where(temperature > 0, drawn, jnp.argmax(logits, axis=-1)).astype(jnp.int32)


def raster_decode(decode_step: Callable, cache, keys, seq_len: int, temperature=1.0, top_k=0,
                  top_p=1.0, debug: bool = False):
    """Tokens [B, seq_len] in raster order. decode_step(prev [B], pos, cache) -> (logits [B, K],
    cache) (guidance, if any, is inside it); keys [B, 2]. A lax.scan over positions, or a Python
    loop when debug."""
    fold = jax.vmap(jax.random.fold_in, in_axes=(0, None))

    def body(carry, pos):
        cache, prev = carry
        logits, cache = decode_step(prev, pos, cache)
        tok = sample_tokens(fold(keys, pos), logits, temperature, top_k, top_p)
        return (cache, tok), tok

    carry = (cache, jnp.zeros((keys.shape[0],), jnp.int32))
    if debug:
        out = []
        for pos in range(seq_len):
            carry, tok = body(carry, jnp.asarray(pos, jnp.int32))
            out.append(tok)
        return jnp.stack(out, axis=1)
    _, toks = jax.lax.scan(body, carry, jnp.arange(seq_len, dtype=jnp.int32))
    return toks.T


def cosine_mask_ratio(r):
    """γ(r) = cos(π r / 2): the fraction of tokens masked at progress r in [0, 1] (MaskGIT eq. 2)."""
    return jnp.cos(0.5 * jnp.pi * r)


def maskgit_decode(logits_fn: Callable, keys, seq_len: int, mask_id: int, num_steps: int,
                   temperature=1.0, top_k=0, top_p=1.0, choice_temperature=4.5, debug: bool = False):
    """Tokens [B, seq_len] from all-mask in num_steps (static) parallel steps (MaskGIT sec. 3.2).
    logits_fn(tokens [B, L]) -> [B, L, K]. At step t every masked position draws a token; then
    the n = floor(L·γ((t+1)/T)) least confident of them (log-probability plus Gumbel noise scaled
    by choice_temperature·(1 - (t+1)/T)) are masked again, keeping at least one new token per step
    (so num_steps >= seq_len fills one position per step)."""
    fold = jax.vmap(jax.random.fold_in, in_axes=(0, None))
    batch = keys.shape[0]

    def body(tokens, t):
        step_keys = fold(keys, t)
        k_tok, k_gumbel = jax.vmap(jax.random.split, out_axes=1)(step_keys)
        logits = logits_fn(tokens)
        drawn = sample_tokens(k_tok, logits, temperature, top_k, top_p)           # [B, L]
        logp = jax.nn.log_softmax(filter_logits(logits, temperature, top_k, top_p), axis=-1)
        logp = jnp.take_along_axis(logp, drawn[..., None], axis=-1)[..., 0]
        masked = tokens == mask_id
        progress = (t + 1.0) / num_steps
        gumbel = jax.vmap(lambda k: jax.random.gumbel(k, (seq_len,)))(k_gumbel)
        conf = jnp.where(masked, logp + choice_temperature * (1.0 - progress) * gumbel, jnp.inf)
        n_masked = jnp.sum(masked, axis=-1, keepdims=True)
        n_next = jnp.floor(seq_len * cosine_mask_ratio(progress)).astype(jnp.int32)
        n_next = jnp.clip(n_next, 0, jnp.maximum(n_masked - 1, 0))
        rank = jnp.argsort(jnp.argsort(conf, axis=-1), axis=-1)                    # 0: least confident
        tokens = jnp.where(masked & (rank < n_next), mask_id, jnp.where(masked, drawn, tokens))
        return tokens, None

    tokens = jnp.full((batch, seq_len), mask_id, jnp.int32)
    if debug:
        for t in range(num_steps):
            tokens, _ = body(tokens, jnp.asarray(t, jnp.int32))
        return tokens
    return jax.lax.scan(body, tokens, jnp.arange(num_steps, dtype=jnp.int32))[0]


def training_mask(key, batch: int, seq_len: int):
    """MaskGIT's training mask [B, L] (True: masked): r ~ U(0, 1) per sample, ceil(γ(r)·L)
    positions (at least one) chosen uniformly."""
    k_r, k_pos = jax.random.split(key)
    r = jax.random.uniform(k_r, (batch, 1))
    n = jnp.maximum(jnp.ceil(cosine_mask_ratio(r) * seq_len), 1)
    rank = jnp.argsort(jnp.argsort(jax.random.uniform(k_pos, (batch, seq_len)), axis=-1), axis=-1)
    return rank < n


def num_masked_schedule(seq_len: int, num_steps: int) -> list[int]:
    """Masked positions left after each decoding step when every step can unmask freely (for docs
    and tests): floor(L·γ((t+1)/T)), forced to fall by at least one per step."""
    left, out = seq_len, []
    for t in range(num_steps):
        n = math.floor(seq_len * math.cos(0.5 * math.pi * (t + 1) / num_steps))
        left = max(0, min(n, left - 1))
        out.append(left)
    return out
