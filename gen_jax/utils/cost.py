"""Compute cost of jitted functions, from XLA."""

from __future__ import annotations

import jax


def xla_flops(fn, *args) -> float:
    """FLOPs of the compiled jax.jit(fn)(*args) from XLA's cost analysis
    (jax.jit(fn).lower(*args).compile().cost_analysis()). A while loop's body (lax.fori_loop,
    lax.scan) is counted once, whatever its trip count: unroll loops to count them."""
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    if isinstance(cost, (list, tuple)):  # older JAX: one dict per program
        cost = cost[0]
    return float(cost["flops"])
