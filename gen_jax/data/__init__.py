"""Datasets by name, toy 2-D sets, and deterministic batching."""

from gen_jax.data.pipeline import EpochSampler, batch_at  # noqa: F401
from gen_jax.data.registry import DATASETS, ImageDataset, load_dataset, resolve_data_dir  # noqa: F401
from gen_jax.data.toy import TOY_SETS, toy_2d  # noqa: F401
