"""Sample-quality metrics: pure functions of features, labels or class probabilities."""

from gen_jax.metrics.coverage import class_coverage  # noqa: F401
from gen_jax.metrics.features import (  # noqa: F401
    FeatureStats,
    init_stats,
    mean_cov,
    merge_stats,
    update_stats,
)
from gen_jax.metrics.frechet import fid_from_features, frechet_distance  # noqa: F401
from gen_jax.metrics.inception_score import inception_score  # noqa: F401
from gen_jax.metrics.kid import kernel_inception_distance  # noqa: F401
from gen_jax.metrics.prdc import prdc  # noqa: F401
