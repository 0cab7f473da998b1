"""Rectified flow: the straight-path objective, its ODE samplers, reflow."""

# The sampler registry (gen_jax.samplers) lists this package's ODE samplers, and those import
# gen_jax.samplers.common: importing the registry first lets `import gen_jax.flow.samplers` (or
# gen_jax.flow.reflow) come first in a fresh process without meeting a half-initialised module.
import gen_jax.samplers  # noqa: F401
