"""Compute cost of jitted functions, from XLA's HLO cost analysis."""

from __future__ import annotations

import jax


def _flops(cost) -> float:
    if isinstance(cost, (list, tuple)):  # older JAX: one dict per program
        cost = cost[0]
    return float(cost["flops"])


def xla_flops(fn, *args) -> float:
    """FLOPs of the compiled jax.jit(fn)(*args) from XLA's cost analysis
    (jax.jit(fn).lower(*args).compile().cost_analysis()). A while loop's body (lax.fori_loop,
    lax.scan) is counted once, whatever its trip count: unroll loops to count them."""
    return _flops(jax.jit(fn).lower(*args).compile().cost_analysis())


def lowered_flops(lowered) -> float:
    """FLOPs of a lowered, not yet partitioned computation (jax.jit(f).lower(...)): the whole
    global batch, however many devices the compiled program will be split over. Loop bodies are
    counted once, as in xla_flops."""
    return _flops(lowered.cost_analysis())
