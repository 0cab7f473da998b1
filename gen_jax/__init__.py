"""gen_jax: generative image models in JAX/Flax (linen)."""

__version__ = "0.1.0"
