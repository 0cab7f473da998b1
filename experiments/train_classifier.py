"""Train the feature classifier of a dataset (for FID/KID/PRDC and class coverage) and write its
weights to gen_jax/metrics/weights/{dataset}_classifier.msgpack, with a JSON record beside it.

python -m experiments.train_classifier --dataset=mnist --data_dir=../shared/data
python -m experiments.train_classifier --dataset=fashion_mnist --data_dir=../shared/data
python -m experiments.train_classifier --dataset=cifar10 --data_dir=../shared/data
python -m experiments.train_classifier --dataset=mnist --data_dir=../shared/data --eval_only

Deterministic for a given seed: the batch order is EpochSampler's (seed, step) function, and the
dropout and augmentation keys are fold_in(key, step). Training goes through the one loop
(gen_jax.train.loop), so it resumes from --workdir; delete it to retrain from scratch.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags, logging
from jax import lax

from gen_jax.data import load_dataset
from gen_jax.metrics.frechet import frechet_distance
from gen_jax.metrics.feature_nets import (WEIGHTS_DIR, FeatureNet, calibrate_scales,
                                          feature_stats, load_feature_net, predict_labels,
                                          save_feature_net, weights_path)
from gen_jax.nn.classifier import POOLS, PRESETS, SPATIAL
from gen_jax.train.loop import train
from gen_jax.train.state import TrainState, create_state, gradient_step, make_optimizer

# Per-dataset defaults, sized for a 2-core CPU (a flag left unset takes these). norm=False and
# taps=2 give features that see blur and noise (docs/metrics.md); augment: None, "shift" (random
# translations of up to 1 pixel, so a one-pixel shift barely registers) or "crop_flip" (4 pixels
# and horizontal flips). penultimate_weight scales the penultimate group after the RMS
# normalisation: on MNIST 0.5 brings the one-pixel shift from 2.0x to 1.5x the real-vs-real FID.
# pool ("max" or the anti-aliased "blur") and spatial ("flatten" or "mean") choose the network's
# downsampling and penultimate input (gen_jax/nn/classifier.py); docs/metrics.md has what they do.
DEFAULTS = {
    "mnist": dict(steps=500, batch_size=128, learning_rate=3e-3, weight_decay=1e-4,
                  label_smoothing=0.0, augment="shift", norm=False, taps=2, penultimate_weight=0.5,
                  pool="max", spatial="flatten"),
    "fashion_mnist": dict(steps=600, batch_size=128, learning_rate=3e-3, weight_decay=1e-4,
                          label_smoothing=0.1, augment="shift", norm=False, taps=2,
                          penultimate_weight=1.0, pool="max", spatial="flatten"),
    # The GroupNorm design: on CIFAR-10 it passes the bars already (docs/metrics.md).
    "cifar10": dict(steps=1800, batch_size=128, learning_rate=3e-3, weight_decay=5e-4,
                    label_smoothing=0.1, augment="crop_flip", norm=True, taps=0,
                    penultimate_weight=1.0, pool="max", spatial="flatten"),
}

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _DATASET, _DATA_DIR, _STEPS, _BATCH, _LR, _WD, _SEED, _OUT, _EVAL_ONLY, _WORKDIR
    global _AUGMENT, _POOL, _SPATIAL, _TAPS, _PEN_WEIGHT
    _DATASET = flags.DEFINE_enum("dataset", None, sorted(DEFAULTS), "Dataset to train on.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Folder holding the datasets (else $GEN_JAX_DATA_DIR).")
    _STEPS = flags.DEFINE_integer("steps", None, "Optimiser steps (default: per dataset).")
    _BATCH = flags.DEFINE_integer("batch_size", None, "Batch size (default: per dataset).")
    _LR = flags.DEFINE_float("learning_rate", None, "Peak AdamW learning rate (default: per dataset).")
    _WD = flags.DEFINE_float("weight_decay", None, "AdamW weight decay (default: per dataset).")
    _AUGMENT = flags.DEFINE_string("augment", None, "'none', 'shift' (1 pixel), 'shift:N' or "
                                   "'crop_flip' (default: per dataset).")
    _POOL = flags.DEFINE_enum("pool", None, list(POOLS), "Downsampling: 2x2 max-pool or the "
                              "anti-aliased 'blur' max-pool (default: per dataset).")
    _SPATIAL = flags.DEFINE_enum("spatial", None, list(SPATIAL), "Penultimate input: the "
                                 "flattened last map or its spatial mean (default: per dataset).")
    _TAPS = flags.DEFINE_integer("taps", None, "Stages whose spatial means join the penultimate "
                                 "features (default: per dataset).")
    _PEN_WEIGHT = flags.DEFINE_float("penultimate_weight", None, "Weight of the penultimate group "
                                     "after the RMS normalisation (default: per dataset).")
    _SEED = flags.DEFINE_integer("seed", 0, "Seed of the initialisation, batch order and augmentation.")
    _OUT = flags.DEFINE_string("out", None, "Folder for the weights and JSON (default: "
                               "gen_jax/metrics/weights).")
    _EVAL_ONLY = flags.DEFINE_bool("eval_only", False, "Only re-evaluate the weights in --out and "
                                    "update their JSON record (accuracy, FID floor).")
    _WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints and logs (default: "
                                   "runs/classifier_{dataset}).")


def random_crop_flip(x, key, pad: int = 4, flip: bool = True):
    """x [B, H, W, C]: a random H×W crop of the reflect-padded image, then (flip) a random
    horizontal flip."""
    b, h, w, c = x.shape
    k_crop, k_flip = jax.random.split(key)
    xp = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    offsets = jax.random.randint(k_crop, (b, 2), 0, 2 * pad + 1)
    x = jax.vmap(lambda im, o: lax.dynamic_slice(im, (o[0], o[1], 0), (h, w, c)))(xp, offsets)
    if not flip:
        return x
    flips = jax.random.bernoulli(k_flip, 0.5, (b, 1, 1, 1))
    return jnp.where(flips, x[:, :, ::-1], x)


def shift_pad(augment: str) -> int:
    """The largest translation (pixels) of augment "shift" (1) or "shift:N" (N)."""
    if augment == "shift":
        return 1
    name, _, n = augment.partition(":")
    if name != "shift" or not n.isdigit() or int(n) < 1:
        raise ValueError(f"augment: expected None, 'shift', 'shift:N' (N >= 1 pixels) or "
                         f"'crop_flip', found {augment!r}")
    return int(n)


@dataclasses.dataclass(frozen=True)
class ClassifierObjective:
    """Cross-entropy (with optional label smoothing) for the one training loop."""

    model: nn.Module
    image_shape: tuple
    tx: optax.GradientTransformation
    lr_schedule: Callable
    num_classes: int
    label_smoothing: float = 0.0
    augment: str | None = None       # None, "shift", "shift:N" or "crop_flip"

    def init(self, key) -> TrainState:
        k_params, k_state = jax.random.split(key)
        params = self.model.init(k_params, jnp.zeros((1, *self.image_shape)))["params"]
        return create_state(params, self.tx, k_state)

    def step(self, state: TrainState, batch: dict):
        def loss_fn(params, key):
            k_aug, k_drop = jax.random.split(key)
            x = batch["image"]
            if self.augment == "crop_flip":
                x = random_crop_flip(x, k_aug)
            elif self.augment is not None:
                x = random_crop_flip(x, k_aug, pad=shift_pad(self.augment), flip=False)
            logits = self.model.apply({"params": params}, x, train=True, rngs={"dropout": k_drop})
            targets = optax.smooth_labels(jax.nn.one_hot(batch["label"], self.num_classes),
                                          self.label_smoothing)
            return optax.softmax_cross_entropy(logits, targets).mean()

        # ema_decay=0: the EMA is a copy of the params; the cosine decay to 0 does its job.
        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, 0.0)

    def preview(self, params, key, num):
        raise NotImplementedError("a classifier has no samples to preview")


def run(dataset: str, data_dir: str | None, out_dir: str, workdir: str, seed: int = 0,
        progress: bool = True, eval_images: int = 10000, **overrides) -> dict:
    """Train, evaluate on the test split, write {out_dir}/{dataset}_classifier.{msgpack,json}.
    overrides: any key of DEFAULTS[dataset] (None values are ignored). eval_images: the images
    of the feature-scale calibration and of the FID floor (and, below the test split's size, of
    the test accuracy); the shipped weights use 10,000. Returns the JSON record."""
    unknown = sorted(set(overrides) - set(DEFAULTS[dataset]))
    if unknown:
        raise ValueError(f"train_classifier: unknown hyperparameters {unknown}; expected some of "
                         f"{sorted(DEFAULTS[dataset])}")
    hp = dict(DEFAULTS[dataset], **{k: v for k, v in overrides.items() if v is not None})
    if hp["augment"] == "none":
        hp["augment"] = None
    if hp["augment"] not in (None, "crop_flip"):
        shift_pad(hp["augment"])  # a bad value fails here, before the data loads
    if hp["pool"] not in POOLS:
        raise ValueError(f"pool: expected one of {POOLS}, found {hp['pool']!r}")
    if hp["spatial"] not in SPATIAL:
        raise ValueError(f"spatial: expected one of {SPATIAL}, found {hp['spatial']!r}")
    train_ds = load_dataset(dataset, data_dir, "train")
    test_ds = load_dataset(dataset, data_dir, "test")
    image_shape = train_ds.images.shape[1:]
    model = PRESETS[dataset](num_classes=train_ds.num_classes, norm=hp["norm"], pool=hp["pool"],
                             spatial=hp["spatial"])
    tx, schedule = make_optimizer(hp["learning_rate"], warmup_steps=min(200, hp["steps"] // 10),
                                  weight_decay=hp["weight_decay"], decay_steps=hp["steps"])
    objective = ClassifierObjective(model, image_shape, tx, schedule, train_ds.num_classes,
                                    hp["label_smoothing"], hp["augment"])
    print(f"train_classifier: {dataset} {train_ds.images.shape}, {hp}, "
          f"{jax.device_count()} device(s) [{jax.default_backend()}], workdir {workdir}")
    t0 = time.time()
    state = train(objective, train_ds.images, train_ds.labels, workdir=workdir,
                  num_steps=hp["steps"], batch_size=hp["batch_size"], seed=seed,
                  log_every=100, ckpt_every=0, progress=progress)
    train_seconds = time.time() - t0

    params = jax.device_get(state.params)
    calib = train_ds.images[np.random.default_rng(1).choice(len(train_ds.images),
                                                            min(eval_images, len(train_ds.images)),
                                                            replace=False)]
    if hp["taps"]:
        scales = calibrate_scales(model, params, calib, hp["taps"])
        scales[0] /= hp["penultimate_weight"]
    else:  # the penultimate features alone, unscaled (the v1 design)
        scales = np.ones(1, np.float32)
    net = FeatureNet(f"{dataset}_classifier", model, params, image_shape, None, hp["taps"],
                     tuple(float(v) for v in scales), dataset)
    ev = evaluate(net, train_ds, test_ds, eval_images)
    path = weights_path(dataset, out_dir)
    size = save_feature_net(path, model, state.params, dataset, image_shape, ev["test_accuracy"],
                            hp["taps"], scales)
    flag_data_dir = "" if data_dir is None or os.path.isabs(data_dir) else f" --data_dir={data_dir}"
    record = {
        "dataset": dataset,
        **ev,
        "steps": hp["steps"],
        "epochs": round(hp["steps"] * hp["batch_size"] / len(train_ds.images), 2),
        "seed": seed,
        "hyperparameters": hp,
        "feature_scales": [round(float(v), 6) for v in scales],
        "model": {f.name: getattr(model, f.name) for f in dataclasses.fields(model)
                  if f.name not in ("parent", "name")},
        "param_count": int(sum(np.size(p) for p in jax.tree.leaves(state.params))),
        "weights_bytes": size,
        "train_seconds": round(train_seconds, 1),
        "platform": f"jax {jax.__version__} {jax.default_backend()}, {os.cpu_count()} CPU cores, "
                    f"{platform.machine()}",
        "command": (f"python -m experiments.train_classifier --dataset={dataset} --seed={seed}"
                    f"{flag_data_dir}" + "".join(f" --{k}={overrides[k]}" for k in
                                                 ("steps", "batch_size", "learning_rate",
                                                  "weight_decay", "augment", "pool", "spatial", "taps",
                                                  "penultimate_weight")
                                                 if overrides.get(k) is not None)),
    }
    with open(path.removesuffix(".msgpack") + ".json", "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    print(f"train {train_seconds:.0f} s; wrote {path} ({size / 1e6:.2f} MB)")
    return record


def evaluate(net: FeatureNet, train_ds, test_ds, num_floor: int = 10000) -> dict:
    """Test accuracy, and the FID "floor" of these features: real against real, a fixed random
    num_floor train images (seed 0; a random subset, as the CIFAR-10 file is sorted by class)
    against num_floor test images. Generated samples cannot be expected to score below it."""
    t0 = time.time()
    rng = np.random.default_rng(0)
    idx_acc = (slice(None) if num_floor >= len(test_ds.images)
               else np.sort(rng.choice(len(test_ds.images), num_floor, replace=False)))
    acc = float(np.mean(predict_labels(net, test_ds.images[idx_acc]) == test_ds.labels[idx_acc]))
    idx_tr = np.sort(rng.choice(len(train_ds.images), min(num_floor, len(train_ds.images)), replace=False))
    idx_te = np.sort(rng.choice(len(test_ds.images), min(num_floor, len(test_ds.images)), replace=False))
    mu_tr, sig_tr, _ = feature_stats(net, train_ds.images[idx_tr])
    mu_te, sig_te, _ = feature_stats(net, test_ds.images[idx_te])
    fid_floor = frechet_distance(mu_tr, sig_tr, mu_te, sig_te)
    print(f"{net.name}: test accuracy {100 * acc:.2f}%, FID(train {len(idx_tr)}, test "
          f"{len(idx_te)}) {fid_floor:.4f}")
    return {"test_accuracy": round(acc, 5), f"fid_train{len(idx_tr) // 1000}k_vs_test{len(idx_te) // 1000}k":
            round(fid_floor, 4), "eval_seconds": round(time.time() - t0, 1)}


def reevaluate(dataset: str, data_dir: str | None, out_dir: str) -> dict:
    """Recompute evaluate() for the weights in out_dir and update its JSON record in place."""
    net = load_feature_net(dataset, out_dir)
    ev = evaluate(net, load_dataset(dataset, data_dir, "train"), load_dataset(dataset, data_dir, "test"))
    path = weights_path(dataset, out_dir).removesuffix(".msgpack") + ".json"
    with open(path) as f:
        record = json.load(f)
    record.update(ev)
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    return record


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    dataset = _DATASET.value
    if _EVAL_ONLY.value:
        reevaluate(dataset, _DATA_DIR.value, _OUT.value or WEIGHTS_DIR)
        return
    run(dataset, _DATA_DIR.value, _OUT.value or WEIGHTS_DIR,
        _WORKDIR.value or os.path.join("runs", f"classifier_{dataset}"), seed=_SEED.value,
        steps=_STEPS.value, batch_size=_BATCH.value, learning_rate=_LR.value,
        weight_decay=_WD.value, augment=_AUGMENT.value, pool=_POOL.value, spatial=_SPATIAL.value,
        taps=_TAPS.value, penultimate_weight=_PEN_WEIGHT.value)


if __name__ == "__main__":
    define_flags()
    flags.mark_flag_as_required("dataset")
    app.run(main)
