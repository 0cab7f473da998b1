"""Feature networks for FID/KID/precision-recall and class coverage on small datasets.

Inception-v3 features say little about 28×28 digits, so on MNIST, Fashion-MNIST and CIFAR-10 the
metrics use the penultimate features (and predicted labels) of a small classifier trained on that
dataset (gen_jax.nn.classifier, trained by experiments/train_classifier.py). The weights ship in
gen_jax/metrics/weights/{dataset}_classifier.msgpack: one msgpack dict holding the parameters and
what is needed to rebuild the network (its Classifier fields, the image shape, test accuracy).
FIDs computed with these features are comparable only with others from the same weights file.

Two kinds of weights ship (docs/metrics.md measures both against known corruptions):
- `{dataset}` (the default): a classifier without normalisation layers whose features are the
  penultimate activations joined with the spatial means of its first `taps` stages, each group
  divided by its RMS standard deviation on training images, so the early, texture-level maps (which
  see blur and noise that a classifier learns to ignore) weigh as much as the semantic ones.
- `{dataset}_v1`: the first GroupNorm classifiers, penultimate features only; nearly blind to
  noise and mild blur. Kept loadable by name to compare with figures computed with them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.metrics.features import init_stats, mean_cov, update_stats
from gen_jax.nn.classifier import Classifier

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
FORMAT = "gen_jax.classifier/1"
_MODEL_FIELDS = ("num_classes", "channels", "convs_per_stage", "feature_dim", "norm", "pool", "spatial")


def _model_space(images):
    """uint8 [0, 255] -> float32 [-1, 1]; float images are taken to be in [-1, 1] already."""
    if images.dtype == jnp.uint8:
        return images.astype(jnp.float32) / 127.5 - 1.0
    return images.astype(jnp.float32)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _features(model: Classifier, taps: int, params, scales, images):
    if taps == 0:  # the shipped taps-0 networks have scale 1; a _penultimate view keeps its group's
        return model.apply({"params": params}, _model_space(images), method="features") / scales[0]
    pen, stages = model.apply({"params": params}, _model_space(images), method="stage_features")
    groups = [pen, *stages[:taps]]
    return jnp.concatenate([g / scales[i] for i, g in enumerate(groups)], axis=-1)


def calibrate_scales(model: Classifier, params, images, taps: int, batch_size: int = 500):
    """RMS standard deviation [taps + 1] of each feature group (penultimate, stage 0, ..., stage
    taps-1) over images [N, H, W, C]: dividing by it gives every group unit mean variance."""
    groups = None
    for start in range(0, len(images), batch_size):
        out = _features(model, taps, params, jnp.ones(taps + 1), images[start:start + batch_size])
        sizes = np.cumsum([model.feature_dim, *model.channels[:taps]])[:-1]
        parts = np.split(np.asarray(out, np.float64), sizes, axis=-1)
        groups = parts if groups is None else [np.concatenate([a, b]) for a, b in zip(groups, parts)]
    return np.array([np.sqrt(g.var(0).mean()) for g in groups], np.float32)


@functools.partial(jax.jit, static_argnums=0)
def _logits(model: Classifier, params, images):
    return model.apply({"params": params}, _model_space(images))


_update_stats = jax.jit(update_stats)


@dataclasses.dataclass(frozen=True)
class FeatureNet:
    """A trained classifier as two pure jitted functions of its params.

    images: [B, H, W, C] (image_shape) float32 in [-1, 1], or uint8 in [0, 255].
    """

    name: str                        # for reports, e.g. "mnist_classifier (acc 99.3%)"
    model: Classifier
    params: Any
    image_shape: tuple[int, int, int]
    test_accuracy: float | None = None
    taps: int = 0                    # stages whose spatial means join the penultimate features
    scales: Any = None               # [taps + 1] divisor of each feature group (None: all 1)
    dataset: str | None = None       # the dataset it was trained on

    @property
    def feature_dim(self) -> int:
        return self.model.feature_dim + sum(self.model.channels[:self.taps])

    @property
    def num_classes(self) -> int:
        return self.model.num_classes

    def _check(self, images):
        shape = tuple(np.shape(images))
        if len(shape) != 4 or shape[1:] != tuple(self.image_shape):
            raise ValueError(f"{self.name}: expected images [B, {', '.join(map(str, self.image_shape))}]"
                             f" (NHWC), found shape {shape}")
        return images

    def features(self, images) -> jax.Array:
        """Features [B, feature_dim]: penultimate (taps=0), or with the scaled stage means."""
        scales = jnp.ones(self.taps + 1) if self.scales is None else jnp.asarray(self.scales)
        return _features(self.model, self.taps, self.params, scales, self._check(images))

    def logits(self, images) -> jax.Array:
        """Class logits [B, num_classes]."""
        return _logits(self.model, self.params, self._check(images))


def _batched(fn, images, batch_size: int):
    """Yield (fn(batch) [b, ...] as numpy, mask [b]) over images in fixed-size batches (the last one
    zero-padded, so fn compiles once)."""
    n = len(images)
    if n == 0:
        raise ValueError("no images given")
    b = min(batch_size, n)
    for start in range(0, n, b):
        chunk = np.asarray(images[start:start + b])
        real = len(chunk)
        if real < b:
            chunk = np.concatenate([chunk, np.zeros((b - real, *chunk.shape[1:]), chunk.dtype)])
        yield fn(chunk), np.arange(b) < real


def extractor_stats(features_fn, images, batch_size: int = 500):
    """(mu [D], sigma [D, D], features [N, D]) of images [N, H, W, C] through any features
    function [b, H, W, C] -> [b, D] (a FeatureNet's, InceptionV3's from
    gen_jax.metrics.inception.load_inception, or a user's own, e.g. DINOv2 from local weights),
    via the streaming statistics of gen_jax.metrics.features; mu and sigma are float64. The
    function sees fixed-size batches (the last zero-padded), so a jitted one compiles once."""
    stats, feats = None, []
    for f, mask in _batched(features_fn, images, batch_size):
        if np.ndim(f) != 2 or np.shape(f)[0] != len(mask):
            raise ValueError(f"features function: expected [{len(mask)}, D] for a batch of "
                             f"{len(mask)} images, found shape {np.shape(f)}")
        stats = init_stats(np.shape(f)[1]) if stats is None else stats
        stats = _update_stats(stats, jnp.asarray(f), jnp.asarray(mask))
        feats.append(np.asarray(f)[mask])
    mu, sigma = mean_cov(stats)
    return mu, sigma, np.concatenate(feats)


def feature_stats(net: FeatureNet, images, batch_size: int = 500):
    """(mu [D], sigma [D, D], features [N, D]) of images [N, H, W, C] (uint8 or [-1, 1] float),
    through the streaming statistics of gen_jax.metrics.features; mu and sigma are float64."""
    return extractor_stats(net.features, images, batch_size)


def predict_labels(net: FeatureNet, images, batch_size: int = 500) -> np.ndarray:
    """Predicted classes [N] int (argmax of the logits), e.g. for metrics.class_coverage."""
    out = [np.asarray(jnp.argmax(l, -1))[mask] for l, mask in _batched(net.logits, images, batch_size)]
    return np.concatenate(out)


PENULTIMATE = "_penultimate"  # load_feature_net("mnist_penultimate"): penultimate features only


def weights_path(dataset: str, weights_dir: str | None = None) -> str:
    return os.path.join(weights_dir or WEIGHTS_DIR, f"{dataset}_classifier.msgpack")


def save_feature_net(path: str, model: Classifier, params, dataset: str,
                     image_shape: tuple[int, int, int], test_accuracy: float, taps: int = 0,
                     scales=None) -> int:
    """Write params and the fields that rebuild the network as one msgpack file; returns bytes."""
    blob = flax.serialization.msgpack_serialize({
        "features": {"taps": int(taps),
                     "scales": [float(v) for v in (np.ones(taps + 1) if scales is None else scales)]},
        "format": FORMAT,
        "dataset": dataset,
        "model": {f: (list(v) if isinstance(v := getattr(model, f), tuple) else v) for f in _MODEL_FIELDS},
        "image_shape": list(image_shape),
        "test_accuracy": float(test_accuracy),
        "params": flax.serialization.to_state_dict(jax.device_get(params)),
    })
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)


def load_feature_net(dataset: str, weights_dir: str | None = None) -> FeatureNet:
    """The classifier trained on `dataset` ('mnist', 'fashion_mnist', 'cifar10'; 'mnist_v1' etc.
    for the first GroupNorm networks), from {weights_dir or gen_jax/metrics/weights}/{dataset}_classifier.msgpack.
    'NAME_penultimate' (e.g. 'mnist_penultimate'): the same network with its penultimate
    features only, without the stage means (docs/metrics.md: what those groups weigh)."""
    if dataset.endswith(PENULTIMATE):
        net = load_feature_net(dataset[:-len(PENULTIMATE)], weights_dir)
        scale = 1.0 if net.scales is None else net.scales[0]
        return dataclasses.replace(net, name=f"{dataset[:-len(PENULTIMATE)]}_classifier penultimate "
                                   f"(acc {100 * net.test_accuracy:.1f}%)", taps=0, scales=(scale,))
    path = weights_path(dataset, weights_dir)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no feature-net weights for dataset {dataset!r}: expected {path}; produce them with "
            f"`python -m experiments.train_classifier --dataset={dataset} --data_dir=../shared/data "
            f"--out={os.path.dirname(path)}`")
    with open(path, "rb") as f:
        blob = flax.serialization.msgpack_restore(f.read())
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        found = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise ValueError(f"{path}: expected a {FORMAT!r} msgpack dict, found format {found!r}")
    kw = dict(blob["model"])
    kw["channels"] = tuple(kw["channels"])
    model = Classifier(**kw)
    image_shape = tuple(int(s) for s in blob["image_shape"])
    template = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0),
                                                 jnp.zeros((1, *image_shape))))["params"]
    params = flax.serialization.from_state_dict(template, blob["params"])
    for (key, want), got in zip(jax.tree_util.tree_leaves_with_path(template),
                                jax.tree.leaves(params)):
        if tuple(want.shape) != tuple(np.shape(got)):
            raise ValueError(f"{path}: parameter {jax.tree_util.keystr(key)} has shape "
                             f"{np.shape(got)}; the network {kw} expects {want.shape}")
    params = jax.tree.map(lambda p: jnp.asarray(p, jnp.float32), params)
    acc = float(blob["test_accuracy"])
    feat = blob.get("features", {"taps": 0, "scales": [1.0]})  # v1 files: penultimate only
    taps, scales = int(feat["taps"]), np.asarray(feat["scales"], np.float32)
    if not 0 <= taps <= len(kw["channels"]) or scales.shape != (taps + 1,):
        raise ValueError(f"{path}: 'features' expects 0 <= taps <= {len(kw['channels'])} stages and "
                         f"taps + 1 scales; found taps={taps}, scales of shape {scales.shape}")
    return FeatureNet(f"{dataset}_classifier (acc {100 * acc:.1f}%)", model, params, image_shape, acc,
                      taps, tuple(float(v) for v in scales), blob.get("dataset"))
