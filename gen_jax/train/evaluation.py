"""Sample-quality evaluation during training: class coverage, precision/recall and FID of a
generator's samples in a feature network's space (gen_jax.metrics.feature_nets), against real
features computed once. The training loop calls the returned `evaluate(params, step)`."""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax
import numpy as np

from gen_jax.metrics.coverage import class_coverage
from gen_jax.metrics.feature_nets import FeatureNet, feature_stats, predict_labels
from gen_jax.metrics.frechet import frechet_distance
from gen_jax.metrics.prdc import prdc
from gen_jax.train import sharding
from gen_jax.utils.images import to_uint8


@dataclasses.dataclass(frozen=True)
class RealReference:
    """Feature statistics of real images: mu [D], sigma [D, D] of all of them (for FID), and a
    random subset of feature rows [M, D] (for precision/recall)."""

    mu: np.ndarray
    sigma: np.ndarray
    feats: np.ndarray


def real_reference(net: FeatureNet, images, num: int, seed: int = 0) -> RealReference:
    """Statistics of images [N, H, W, C] (uint8 or [-1, 1]) and min(num, N) random feature rows."""
    mu, sigma, feats = feature_stats(net, images)
    rng = np.random.default_rng(seed)
    return RealReference(mu, sigma, feats[rng.choice(len(feats), min(num, len(feats)), replace=False)])


def score(net: FeatureNet, images_uint8, ref: RealReference, k: int = 3) -> dict:
    """Metrics of generated images [M, H, W, C] uint8 against ref: fid (M samples vs ref's
    statistics: biased upward for small M, for comparing steps of one run), precision, recall,
    density and prdc_coverage (k-NN balls, against min(M, len(ref.feats)) real rows; coverage
    resists the real outliers whose large balls can make precision high even for noise, Naeem
    et al. 2020), class_coverage (fraction of the
    feature net's classes predicted at least once), class_entropy (normalised entropy of the
    predicted-class histogram) and class_share/i (share of samples predicted as class i)."""
    mu, sigma, feats = feature_stats(net, images_uint8)
    pr = prdc(ref.feats[: len(feats)], feats, k=k)
    cov = class_coverage(predict_labels(net, images_uint8), net.num_classes)
    hist = np.asarray(cov["histogram"], np.float64) / len(feats)
    out = {"fid": frechet_distance(mu, sigma, ref.mu, ref.sigma),
           "precision": pr["precision"], "recall": pr["recall"], "density": pr["density"],
           "prdc_coverage": pr["coverage"],
           "class_coverage": (net.num_classes - len(cov["missing_classes"])) / net.num_classes,
           "class_entropy": cov["normalized_entropy"]}
    out.update({f"class_share/{i}": float(s) for i, s in enumerate(hist)})
    return out


def make_sampler(sample: Callable, num_samples: int, *, seed: int = 0, batch_size: int = 500,
                 mesh=None) -> Callable:
    """images(params) -> uint8 [num_samples, H, W, C]: the samples make_evaluator scores.

    sample(params, key, n) -> images [n, H, W, C] in [-1, 1] (e.g. objective.preview), jitted
    here with n static and the output replicated over the mesh: with several processes every
    process must call images (it runs a collective program). The latents are the same at every
    call (chunk i of batch_size samples uses fold_in(key(seed), i)). Samples are quantised to
    uint8, like saved images.
    """
    mesh = mesh or sharding.make_mesh()
    fn = jax.jit(sample, static_argnums=2, out_shardings=sharding.replicated(mesh))
    b = min(batch_size, num_samples)
    key = jax.random.PRNGKey(seed)

    def images(params) -> np.ndarray:
        chunks = [np.asarray(fn(params, jax.random.fold_in(key, i), b).addressable_data(0))
                  for i in range(math.ceil(num_samples / b))]
        return to_uint8(np.concatenate(chunks)[:num_samples])

    return images


def make_evaluator(sample: Callable, net: FeatureNet, ref: RealReference, num_samples: int, *,
                   seed: int = 0, k: int = 3, batch_size: int = 500, mesh=None,
                   prefix: str = "eval/") -> Callable:
    """evaluate(params, step) -> {prefix + name: float} (names as in `score`) of the samples of
    make_sampler (same arguments): with several processes every process must call evaluate; each
    gets the same scores. The latents are the same at every call, so scores at different steps
    compare the same z's.
    """
    if num_samples <= k:
        raise ValueError(f"num_samples must exceed k={k} (k-NN precision/recall); got {num_samples}")
    images = make_sampler(sample, num_samples, seed=seed, batch_size=batch_size, mesh=mesh)

    def evaluate(params, step: int) -> dict:
        del step  # the same latents at every step
        return {prefix + name: v for name, v in score(net, images(params), ref, k).items()}

    return evaluate
