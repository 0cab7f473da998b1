"""CycleGAN measured on its unpaired pairs (MNIST <-> MNIST-M, MNIST <-> Fashion-MNIST), against
the identity mapping as the baseline.

python -m experiments.bench_cyclegan --workdir=runs/cyclegan_mnist --data_dir=../shared/data \
    --out_dir=runs/bench_cyclegan

For each direction on --num test images of the source domain, with a classifier per domain
(PAIRS: a shipped feature net, fed the grey mean of RGB images where it takes one channel, or a
small classifier trained here on the domain's training images, --clf_steps steps):
- label preservation (pairs whose classes mean the same in both domains, e.g. digits in MNIST and
  MNIST-M): the target classifier's accuracy against the source image's label;
- class consistency: the same predictions matched one-to-one to the source classes in the way
  that agrees most (the Hungarian algorithm on the confusion matrix), the fraction that agrees.
  A translation that maps every digit 3 to one garment class scores 1 without any agreed label;
- target-domain rate: the share of translations that a domain classifier (A vs B, trained here on
  the training images of both) puts in the target domain; the identity mapping scores about 0;
- FID to the target domain: translations against --num real test images of the target domain, in
  the target classifier's feature space;
- cycle reconstruction error: mean |x − G_back(G(x))| over pixels in [-1, 1].
The identity row feeds the source images unchanged. Writes results.json, results.md and
translations.png (rows: source, translation, cycle, for both ways).
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
from gen_jax.data.unpaired import domain_labels
from gen_jax.metrics.feature_nets import FeatureNet, load_feature_net, predict_labels
from gen_jax.nn.classifier import MNISTClassifier
from gen_jax.utils.images import save_grid, to_uint8

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other benches that define flags of the same names."""
    global _WORKDIR, _DATA_DIR, _NUM, _CLF_STEPS, _OUT
    _WORKDIR = flags.DEFINE_string("workdir", None, "Workdir of a cyclegan run on an unpaired dataset.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the run's config).")
    _NUM = flags.DEFINE_integer("num", 1000, "Test images per direction.")
    _CLF_STEPS = flags.DEFINE_integer("clf_steps", 400, "Training steps of the classifiers trained here.")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_cyclegan", "Output directory.")

# Per dataset: the domains' names, the classifier of each (a shipped feature net by name, or None:
# trained here on that domain's training images) and whether the classes mean the same in both.
PAIRS = {
    "mnist_mnistm": dict(domains=("MNIST", "MNIST-M"), nets=("mnist", None), shared_labels=True),
    "mnist_fashion": dict(domains=("MNIST", "Fashion-MNIST"), nets=("mnist", "fashion_mnist"),
                          shared_labels=False),
}


def train_classifier(images, labels, steps: int, name: str, num_classes: int = 10, seed: int = 0,
                     batch: int = 64) -> FeatureNet:
    """A classifier (the MNIST preset's architecture) on images [N, H, W, C] in [-1, 1]."""
    model = MNISTClassifier(num_classes=num_classes)
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
    return FeatureNet(name=f"{name} ({steps} steps here)", model=model, params=params,
                      image_shape=tuple(images.shape[1:]))


def matched_accuracy(source_labels, predicted, num_classes: int = 10) -> float:
    """The fraction of images whose predicted class is the one matched to their source class, under
    the one-to-one matching of source to predicted classes that maximises it (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    confusion = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(confusion, (np.asarray(source_labels), np.asarray(predicted)), 1)
    rows, cols = linear_sum_assignment(-confusion)
    return float(confusion[rows, cols].sum() / max(len(source_labels), 1))


def fit(net: FeatureNet, x) -> np.ndarray:
    """x [N, H, W, C] as net takes it: the grey mean of RGB for a one-channel classifier."""
    x = np.asarray(x)
    return x.mean(-1, keepdims=True) if net.image_shape[-1] == 1 and x.shape[-1] != 1 else x


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    c, obj, state, _ = load_objective_and_params(_WORKDIR.value)
    if c.data.name not in PAIRS:
        raise ValueError(f"--workdir: a cyclegan run on one of {sorted(PAIRS)}; {_WORKDIR.value} was "
                         f"trained on {c.data.name!r}")
    pair = PAIRS[c.data.name]
    data_dir = _DATA_DIR.value or c.data.dir or None
    n, ch = _NUM.value, obj.image_shape[-1]
    train = load_dataset(c.data.name, data_dir, "train")
    test = load_dataset(c.data.name, data_dir, "test")
    train_la, train_lb = domain_labels(c.data.name, data_dir, "train")
    test_la, test_lb = domain_labels(c.data.name, data_dir, "test")
    a, b = test.images[:n, ..., :ch], test.images[:n, ..., ch:]
    la, lb = test_la[:n], test_lb[:n]
    nets = []
    for i, (name, domain, labels) in enumerate(zip(pair["nets"], pair["domains"], (train_la, train_lb))):
        part = train.images[..., i * ch:(i + 1) * ch]
        nets.append(load_feature_net(name) if name else
                    train_classifier(part, labels, _CLF_STEPS.value, f"{domain} classifier"))
    clf_a, clf_b = nets
    # the domain classifier: label 0 for A's training images, 1 for B's
    both = np.concatenate([train.images[..., :ch], train.images[..., ch:]])
    which = np.repeat(np.arange(2, dtype=np.int32), len(train.images))
    clf_domain = train_classifier(both, which, _CLF_STEPS.value, "domain classifier", num_classes=2, seed=1)

    def measure(x, source_labels, net, target: int):
        pred = predict_labels(net, fit(net, x))
        out = {"matched_acc": matched_accuracy(source_labels, pred),
               "domain": float(np.mean(predict_labels(clf_domain, np.asarray(x)) == target))}
        if pair["shared_labels"]:
            out["label_acc"] = float(np.mean(pred == source_labels))
        return out

    p = state.ema_params
    tr = jax.jit(obj.translate, static_argnums=2)
    batches = lambda fn, x: np.concatenate([np.asarray(fn(x[s:s + 250])) for s in range(0, len(x), 250)])  # noqa: E731
    ab, ba = batches(lambda x: tr(p, x, "a2b"), a), batches(lambda x: tr(p, x, "b2a"), b)
    aba, bab = batches(lambda x: tr(p, x, "b2a"), ab), batches(lambda x: tr(p, x, "a2b"), ba)
    # the target domain's real images are the other half of the test pairs (different images)
    rows = []
    for name, xa2b, xb2a, cyc_a, cyc_b in (("identity", a, b, 0.0, 0.0),
                                           ("CycleGAN", ab, ba, float(np.mean(np.abs(aba - a))),
                                            float(np.mean(np.abs(bab - b))))):
        row = {"mapping": name}
        row.update({f"a2b_{k}": v for k, v in measure(xa2b, la, clf_b, 1).items()})
        row.update({f"b2a_{k}": v for k, v in measure(xb2a, lb, clf_a, 0).items()})
        row.update(a2b_fid=bc.fid_between(clf_b, fit(clf_b, xa2b), fit(clf_b, b)),
                   b2a_fid=bc.fid_between(clf_a, fit(clf_a, xb2a), fit(clf_a, a)),
                   cycle_l1_a=cyc_a, cycle_l1_b=cyc_b)
        rows.append(row)
        print(row)
    acc_a = float(np.mean(predict_labels(clf_a, fit(clf_a, a)) == la))
    acc_b = float(np.mean(predict_labels(clf_b, fit(clf_b, b)) == lb))
    acc_domain = float(np.mean(np.concatenate([predict_labels(clf_domain, a) == 0,
                                               predict_labels(clf_domain, b) == 1])))
    os.makedirs(_OUT.value, exist_ok=True)
    k = 10
    grid = np.concatenate([a[:k], ab[:k], aba[:k], b[:k], ba[:k], bab[:k]])
    save_grid(os.path.join(_OUT.value, "translations.png"), to_uint8(grid), ncols=k)
    name_a, name_b = pair["domains"]
    meta = {"workdir": _WORKDIR.value, "dataset": c.data.name, "domains": [name_a, name_b],
            "step": int(state.step), "num": n, "clf_a": clf_a.name, "clf_a_test_acc": acc_a,
            "clf_b": clf_b.name, "clf_b_test_acc": acc_b, "clf_domain": clf_domain.name,
            "clf_domain_test_acc": acc_domain, **bc.run_info()}
    columns = [("mapping", "mapping")]
    if pair["shared_labels"]:
        columns += [("A→B label acc.", "a2b_label_acc", "{:.3f}"), ("B→A label acc.", "b2a_label_acc", "{:.3f}")]
    columns += [("A→B class match", "a2b_matched_acc", "{:.3f}"), ("B→A class match", "b2a_matched_acc", "{:.3f}"),
                ("A→B in B", "a2b_domain", "{:.3f}"), ("B→A in A", "b2a_domain", "{:.3f}"),
                ("A→B FID", "a2b_fid", "{:.2f}"), ("B→A FID", "b2a_fid", "{:.2f}"),
                ("cycle L1 (A)", "cycle_l1_a", "{:.3f}"), ("cycle L1 (B)", "cycle_l1_b", "{:.3f}")]
    md = bc.markdown_table(rows, columns) + (
        f"\n\nA = {name_a}, B = {name_b} ({c.data.name}); {n} test images per direction; training "
        f"step {meta['step']}. Classifiers: A {clf_a.name}, {acc_a:.3f} on these A images; B "
        f"{clf_b.name}, {acc_b:.3f} on these B images; A vs B: {clf_domain.name}, {acc_domain:.3f} "
        f"on both domains' test images. FID in the target classifier's features, against the {n} test images of the "
        f"target domain. Hardware: {meta['hardware']}.\n")
    bc.write_results(_OUT.value, "results", {"meta": meta, "rows": rows}, md, echo=True)


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["workdir"])
    app.run(main)
