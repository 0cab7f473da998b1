"""How well images follow a given binary map (edges or masks) [B, H, W, 1] in {0, 1}: per-image
IoU and a boundary F1 with a pixel tolerance (as in the BSDS boundary benchmark, with a square
tolerance window instead of a matching)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _dilate(m, radius: int):
    if radius == 0:
        return m
    k = 2 * radius + 1
    return jax.lax.reduce_window(m, 0.0, jax.lax.max, (1, k, k, 1), (1, 1, 1, 1), "SAME")


def _ratio(num, den):
    safe = jnp.where(den > 0, den, 1.0)
    return jnp.where(den > 0, num / safe, 0.0)


def edge_f1(pred, ref, tolerance: int = 1):
    """(precision, recall, F1), each [B]: precision = share of pred pixels within `tolerance`
    pixels (Chebyshev) of a ref pixel, recall = share of ref pixels within it of a pred pixel.
    An empty map scores 0."""
    axes = (1, 2, 3)
    precision = _ratio(jnp.sum(pred * _dilate(ref, tolerance), axes), jnp.sum(pred, axes))
    recall = _ratio(jnp.sum(ref * _dilate(pred, tolerance), axes), jnp.sum(ref, axes))
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1


def iou(pred, ref):
    """|pred ∧ ref| / |pred ∨ ref| per image [B] (0 when both are empty)."""
    axes = (1, 2, 3)
    return _ratio(jnp.sum(pred * ref, axes), jnp.sum(jnp.maximum(pred, ref), axes))
