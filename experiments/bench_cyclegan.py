"""CycleGAN measured on MNIST <-> MNIST-M, against the identity mapping as the baseline.

python -m experiments.bench_cyclegan --workdir=runs/cyclegan_mnist --data_dir=../shared/data \
    --out_dir=runs/bench_cyclegan

For each direction (A = MNIST, B = MNIST-M) on --num test images of the source domain:
- label preservation: the accuracy, against the source image's label, of a digit classifier
  trained on the *target* domain (A: the shipped MNIST classifier on the grey channel; B: a small
  classifier trained here on the 10,000 MNIST-M training images, --clf_steps steps);
- FID to the target domain: translated images against --num real test images of the target
  domain, in that classifier's feature space;
- cycle reconstruction error: mean |x − G_back(G(x))| over pixels in [-1, 1].
The identity row feeds the source images unchanged (grey MNIST as RGB, or MNIST-M). Writes
results.json, results.md and translations.png (rows: source, translation, cycle, for both ways).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments.sampling import load_objective_and_params
from gen_jax.data import load_dataset
from gen_jax.data.mnist_m import domain_labels
from gen_jax.metrics.feature_nets import FeatureNet, load_feature_net, predict_labels
from gen_jax.nn.classifier import MNISTClassifier
from gen_jax.utils.images import save_grid, to_uint8

_WORKDIR = flags.DEFINE_string("workdir", None, "Workdir of a cyclegan run on mnist_mnistm.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the run's config).")
_NUM = flags.DEFINE_integer("num", 1000, "Test images per direction.")
_CLF_STEPS = flags.DEFINE_integer("clf_steps", 400, "Training steps of the MNIST-M classifier.")
_OUT = flags.DEFINE_string("out_dir", "runs/bench_cyclegan", "Output directory.")


def train_classifier(images, labels, steps: int, seed: int = 0, batch: int = 64) -> FeatureNet:
    """A digit classifier (the MNIST preset's architecture) on images [N, H, W, C] in [-1, 1]."""
    model = MNISTClassifier()
    tx = optax.adam(1e-3)
    params = model.init(jax.random.PRNGKey(seed), jnp.zeros((1, *images.shape[1:])))["params"]
    opt = tx.init(params)

    @jax.jit
    def step(params, opt, x, y):
        loss, g = jax.value_and_grad(
            lambda p: optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, x), y).mean())(params)
        upd, opt = tx.update(g, opt, params)
        return optax.apply_updates(params, upd), opt, loss

    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.integers(0, len(images), batch)
        params, opt, _ = step(params, opt, images[idx], labels[idx])
    return FeatureNet(name=f"MNIST-M classifier ({steps} steps here)", model=model, params=params,
                      image_shape=tuple(images.shape[1:]))


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    c, obj, state, _ = load_objective_and_params(_WORKDIR.value)
    data_dir = _DATA_DIR.value or c.data.dir or None
    n = _NUM.value
    train = load_dataset(c.data.name, data_dir, "train")
    test = load_dataset(c.data.name, data_dir, "test")
    _, train_lb = domain_labels(data_dir, "train")
    test_la, test_lb = domain_labels(data_dir, "test")
    a, b = test.images[:n, ..., :3], test.images[:n, ..., 3:]
    la, lb = test_la[:n], test_lb[:n]
    clf_b = train_classifier(train.images[..., 3:], train_lb, _CLF_STEPS.value)
    mnist = load_feature_net("mnist")
    grey = lambda x: np.asarray(x).mean(-1, keepdims=True)  # noqa: E731  the MNIST classifier takes 1 channel

    def accuracy(net, x, labels, to_a):
        x = grey(x) if to_a else np.asarray(x)
        return float(np.mean(predict_labels(mnist if to_a else net, x) == labels))

    def fid(net, x, real, to_a):
        f = grey if to_a else np.asarray
        return bc.fid_between(mnist if to_a else net, f(x), f(real))

    p = state.ema_params
    tr = jax.jit(obj.translate, static_argnums=2)
    batches = lambda fn, x: np.concatenate([np.asarray(fn(x[s:s + 250])) for s in range(0, len(x), 250)])  # noqa: E731
    ab, ba = batches(lambda x: tr(p, x, "a2b"), a), batches(lambda x: tr(p, x, "b2a"), b)
    aba, bab = batches(lambda x: tr(p, x, "b2a"), ab), batches(lambda x: tr(p, x, "a2b"), ba)
    # the target domain's real images are the other half of the test pairs (different digits)
    rows = []
    for name, xa2b, xb2a, cyc_a, cyc_b in (("identity", a, b, 0.0, 0.0),
                                           ("CycleGAN", ab, ba, float(np.mean(np.abs(aba - a))),
                                            float(np.mean(np.abs(bab - b))))):
        rows.append({"mapping": name,
                     "a2b_label_acc": accuracy(clf_b, xa2b, la, False),
                     "b2a_label_acc": accuracy(mnist, xb2a, lb, True),
                     "a2b_fid": fid(clf_b, xa2b, b, False), "b2a_fid": fid(mnist, xb2a, a, True),
                     "cycle_l1_a": cyc_a, "cycle_l1_b": cyc_b})
        print(rows[-1])
    acc_b_on_b = accuracy(clf_b, b, lb, False)
    acc_a_on_a = accuracy(mnist, a, la, True)
    os.makedirs(_OUT.value, exist_ok=True)
    k = 10
    grid = np.concatenate([a[:k], ab[:k], aba[:k], b[:k], ba[:k], bab[:k]])
    save_grid(os.path.join(_OUT.value, "translations.png"), to_uint8(grid), ncols=k)
    meta = {"workdir": _WORKDIR.value, "step": int(state.step), "num": n, "clf_b": clf_b.name,
            "clf_b_test_acc_on_mnist_m": acc_b_on_b, "clf_a": mnist.name, "clf_a_test_acc_on_mnist": acc_a_on_a,
            **bc.run_info()}
    table = bc.markdown_table(rows, [
        ("mapping", "mapping"), ("A→B label acc.", "a2b_label_acc", "{:.3f}"),
        ("B→A label acc.", "b2a_label_acc", "{:.3f}"), ("A→B FID", "a2b_fid", "{:.2f}"),
        ("B→A FID", "b2a_fid", "{:.2f}"), ("cycle L1 (A)", "cycle_l1_a", "{:.3f}"),
        ("cycle L1 (B)", "cycle_l1_b", "{:.3f}")])
    md = table + (
        f"\n\n{n} test images per direction; training step {meta['step']}. Classifiers: A (MNIST) "
        f"{mnist.name}, {acc_a_on_a:.3f} on these MNIST images; B (MNIST-M) {clf_b.name}, "
        f"{acc_b_on_b:.3f} on these MNIST-M images. FID in the target classifier's features, against "
        f"the {n} test images of the target domain. Hardware: {meta['hardware']}.\n")
    bc.write_results(_OUT.value, "results", {"meta": meta, "rows": rows}, md, echo=True)


if __name__ == "__main__":
    flags.mark_flags_as_required(["workdir"])
    app.run(main)
