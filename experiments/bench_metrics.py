"""Validate the feature networks against known corruptions: FID, KID and precision/recall of real
test images, intact and corrupted, against the statistics of real training images.

python -m experiments.bench_metrics --nets=mnist,mnist_v1,fashion_mnist,fashion_mnist_v1 \
    --data_dir=../shared/data --out_dir=docs/metrics
python -m experiments.bench_metrics --nets=cifar10 --inception=inception_fid.msgpack \
    --data_dir=../shared/data --num_test=1000 --out_dir=runs/bench_metrics_cifar10

Per network: the reference is --num_train random training images; the intact row is --num_test
random test images; every corrupted row is the same test images through one corruption of
gen_jax.metrics.corruptions.SUITE (Gaussian blur, Gaussian noise, salt noise, JPEG, a one- and
two-pixel shift, contrast, classes dropped). FID and its ratio to the intact row; KID (mean and
std over --kid_subsets subsets) against the reference features; precision/recall (k = 3) against
num_test random reference rows. Then the sensitivity bars (corruptions.check_bars). Writes
results.json, results.md and fid_vs_strength.png to --out_dir.
--inception: an InceptionV3 msgpack (experiments/convert_inception.py) scored on CIFAR-10 too.
"""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from gen_jax.data import load_dataset
from gen_jax.metrics import corruptions
from gen_jax.metrics.frechet import frechet_distance
from gen_jax.metrics.kid import kernel_inception_distance
from gen_jax.metrics.prdc import prdc
from gen_jax.utils.images import to_uint8

_NETS = None
_INCEPTION = None
_DATA_DIR = None
_NUM_TRAIN = None
_NUM_TEST = None
_KID_SUBSETS = None
_SEED = None
_OUT = None
_REUSE = None


def _dataset_of(name: str) -> str:
    return name.removesuffix("_v1")


def extractors(nets, inception_path):
    """[(name, dataset, features_fn [b, H, W, C] uint8 -> [b, D])]."""
    from gen_jax.metrics.feature_nets import load_feature_net

    out = []
    for name in nets:
        net = load_feature_net(name)
        out.append((net.name, net.dataset or _dataset_of(name), net.features))
    if inception_path:
        from gen_jax.metrics.inception import load_inception
        out.append(("InceptionV3 pool3 (pytorch-fid weights)", "cifar10", load_inception(inception_path)))
    return out


def corruption_cases(dataset, data_dir, num_train, num_test, seed):
    """(training reference images, the indices of those whose features are the precision/recall
    reference, [(family, strength, images)] with the intact test images first): the images every
    feature network of `dataset` is scored on, built once per dataset."""
    train, test = load_dataset(dataset, data_dir, "train"), load_dataset(dataset, data_dir, "test")
    rng = np.random.default_rng(seed)
    # Random subsets: the CIFAR-10 copy is sorted by class.
    x_train = to_uint8(train.images[np.sort(rng.choice(len(train.images), min(num_train, len(train.images)), replace=False))])
    idx = np.sort(rng.choice(len(test.images), min(num_test, len(test.images)), replace=False))
    x_test, y_test = to_uint8(test.images[idx]), test.labels[idx]
    ref_idx = rng.choice(len(x_train), min(len(x_test), len(x_train)), replace=False)
    # The mode-dropping rows resample from all test images of the kept classes.
    x_all, y_all = to_uint8(test.images), test.labels
    key = jax.random.PRNGKey(seed)
    cases = [("real", 0, x_test)]
    for i, (family, (_, strengths)) in enumerate(corruptions.SUITE.items()):
        for j, s in enumerate(strengths):
            k = jax.random.fold_in(jax.random.fold_in(key, i), j)
            if family == "drop":
                x = corruptions.drop_classes(x_all, y_all, range(int(s)), len(x_test), k)
            else:
                x = corruptions.corrupt(family, s, x_test, y_test, k)
            cases.append((family, s, x))
    return x_train, ref_idx, cases


def bench_one(name, dataset, features_fn, data_dir, num_train, num_test, kid_subsets, seed,
              images=None) -> dict:
    """Rows (one per corruption, the intact images first) and the bars for one features function.
    images: corruption_cases(...) of the same arguments, to share between networks."""
    from gen_jax.metrics.feature_nets import extractor_stats

    t0 = time.time()
    x_train, ref_idx, cases = images or corruption_cases(dataset, data_dir, num_train, num_test, seed)
    mu_r, sigma_r, f_train = extractor_stats(features_fn, x_train)
    f_ref = f_train[ref_idx]

    rows = []
    for family, s, x in cases:
        mu, sigma, f = extractor_stats(features_fn, x)
        kid, kid_std = kernel_inception_distance(f, f_train, num_subsets=kid_subsets,
                                                 subset_size=min(1000, len(f)), seed=seed)
        pr = prdc(f_ref, f, k=3)
        rows.append({"family": family, "strength": s, "fid": frechet_distance(mu, sigma, mu_r, sigma_r),
                     "kid": kid, "kid_std": kid_std, "precision": float(pr["precision"]),
                     "recall": float(pr["recall"])})
    fid_real = rows[0]["fid"]
    for r in rows:
        r["fid_ratio"] = r["fid"] / fid_real
    bars = corruptions.check_bars(fid_real, {(r["family"], r["strength"]): r["fid"] for r in rows[1:]})
    print(f"{name}: real FID {fid_real:.3f}; " + ", ".join(
        f"{r['family']} {r['strength']}: {r['fid_ratio']:.1f}×" for r in rows[1:]) +
        f" ({time.time() - t0:.0f} s)")
    return {"net": name, "dataset": dataset, "feature_dim": int(f_train.shape[1]), "rows": rows,
            "bars": {k: (bool(v) if isinstance(v, (bool, np.bool_)) else float(v)) for k, v in bars.items()},
            "seconds": round(time.time() - t0, 1)}


def _label(family, s) -> str:
    return "real (intact)" if family == "real" else f"{corruptions.SUITE[family][0]} = {s}"


def markdown(results, meta) -> str:
    nets = [r["net"] for r in results]
    lines = ["FID against the training statistics (× the intact real value):", "",
             "| images | " + " | ".join(nets) + " |", "|---" * (len(nets) + 1) + "|"]
    for i, row in enumerate(results[0]["rows"]):
        cells = []
        for res in results:
            r = res["rows"][i] if i < len(res["rows"]) else None
            cells.append("" if r is None else f"{r['fid']:.2f} ({r['fid_ratio']:.1f}×)")
        lines.append(f"| {_label(row['family'], row['strength'])} | " + " | ".join(cells) + " |")

    def bar(b, k, fmt):
        return f"{b[k + '_ratio']:{fmt}}× " + ("pass" if b[k + "_pass"] else "FAIL")

    def monotone(b, ok):
        return ", ".join(sorted(k.removeprefix("monotone_") for k in b
                                if k.startswith("monotone_") and bool(b[k]) == ok)) or "-"

    lines += ["", "Sensitivity bars (blur σ 0.8 ≥ 10×, noise σ 16 ≥ 1.5×, one-pixel shift < 2×, "
              "FID rising with every strength):", "", bc.markdown_table(results, [
                  ("network", "net"), ("blur 0.8", lambda r: bar(r["bars"], "blur_0.8", ".1f")),
                  ("noise 16", lambda r: bar(r["bars"], "noise_16", ".2f")),
                  ("shift 1", lambda r: bar(r["bars"], "shift_1", ".2f")),
                  ("monotone", lambda r: monotone(r["bars"], True)),
                  ("not monotone", lambda r: monotone(r["bars"], False))])]
    for res in results:
        lines += ["", f"{res['net']} ({res['dataset']}, {res['feature_dim']}-d features): KID and "
                  "precision/recall (k = 3)", "", bc.markdown_table(res["rows"], [
                      ("images", lambda r: _label(r["family"], r["strength"])),
                      ("KID × 10³", lambda r: f"{1e3 * r['kid']:.2f} ± {1e3 * r['kid_std']:.2f}"),
                      ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}")])]
    lines += ["", f"Reference: {meta['num_train']} random training images; scored: {meta['num_test']} "
              f"random test images (mode dropping: as many test images of the kept classes); KID over "
              f"{meta['kid_subsets']} subsets; seed {meta['seed']}; {meta['hardware']}; "
              f"command: `{meta['command']}`."]
    return "\n".join(lines) + "\n"


def plot(results, path):
    families = [f for f in corruptions.SUITE if f != "shift"]
    fig, axes = bc.subplots(len(families), figsize=(3.2 * len(families), 3.2), sharey=True)
    for ax, family in zip(axes, families):
        label, strengths = corruptions.SUITE[family]
        for res in results:
            y = [1.0] + [r["fid_ratio"] for r in res["rows"] if r["family"] == family]
            ax.plot(range(len(y)), y, marker="o", label=res["net"].split(" (")[0])
        ax.set_xticks(range(len(strengths) + 1), ["real", *map(str, strengths)])
        ax.set(xlabel=label, yscale="log")
    axes[0].set_ylabel("FID ÷ real-vs-real FID")
    axes[0].legend(fontsize=7)
    bc.save_figure(fig, path, dpi=90, legend=False)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    os.makedirs(os.path.join(_OUT.value, "nets"), exist_ok=True)
    settings = {"num_train": _NUM_TRAIN.value, "num_test": _NUM_TEST.value,
                "kid_subsets": _KID_SUBSETS.value, "seed": _SEED.value}
    results, images = [], {}  # the corrupted images, built once per dataset
    for name, dataset, fn in extractors(_NETS.value, _INCEPTION.value):
        cache = os.path.join(_OUT.value, "nets", name.split(" (")[0] + ".json")
        if _REUSE.value and os.path.exists(cache):
            with open(cache) as f:
                cached = json.load(f)
            if cached["settings"] == settings and cached["result"]["net"] == name:
                print(f"{name}: reusing {cache}")
                results.append(cached["result"])
                continue
        if dataset not in images:
            images[dataset] = corruption_cases(dataset, _DATA_DIR.value, _NUM_TRAIN.value,
                                               _NUM_TEST.value, _SEED.value)
        results.append(bench_one(name, dataset, fn, _DATA_DIR.value, **settings,
                                 images=images[dataset]))
        with open(cache, "w") as f:
            json.dump({"settings": settings, "result": results[-1]}, f, indent=1)
    meta = {"num_train": _NUM_TRAIN.value, "num_test": _NUM_TEST.value, "kid_subsets": _KID_SUBSETS.value,
            "seed": _SEED.value, "jax": jax.__version__, **bc.run_info()}
    bc.write_results(_OUT.value, "results", {"meta": meta, "results": results}, markdown(results, meta))
    plot(results, os.path.join(_OUT.value, "fid_vs_strength.png"))
    print(markdown(results, meta))


def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _NETS, _INCEPTION, _DATA_DIR, _NUM_TRAIN, _NUM_TEST, _KID_SUBSETS, _SEED, _OUT, _REUSE
    _NETS = flags.DEFINE_list("nets", ["mnist", "mnist_v1", "fashion_mnist", "fashion_mnist_v1"],
                              "Feature networks by load_feature_net name.")
    _INCEPTION = flags.DEFINE_string("inception", None, "InceptionV3 msgpack to score on CIFAR-10 too.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Folder holding the datasets (else $GEN_JAX_DATA_DIR).")
    _NUM_TRAIN = flags.DEFINE_integer("num_train", 10000, "Random training images of the reference.")
    _NUM_TEST = flags.DEFINE_integer("num_test", 2000, "Random test images scored, intact and corrupted.")
    _KID_SUBSETS = flags.DEFINE_integer("kid_subsets", 10, "KID subsets (of min(1000, num_test) rows).")
    _SEED = flags.DEFINE_integer("seed", 0, "Seed of the subsets and of the random corruptions.")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_metrics", "Output directory.")
    _REUSE = flags.DEFINE_bool("reuse", False, "Reuse a network's rows from out_dir/nets/NAME.json when "
                               "written with the same settings (a network benched earlier, unchanged).")


if __name__ == "__main__":
    define_flags()
    app.run(main)
