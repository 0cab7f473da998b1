"""Train candidate feature networks and score each against the corruption suite, in two views:
all its feature groups (as it would ship) and its penultimate group alone.

python -m experiments.sweep_feature_nets --dataset=mnist --data_dir=../shared/data \\
    --out_dir=runs/sweep_fn --candidate=base: --candidate=shift2:augment=shift:2 \\
    --candidate=blur2:augment=shift:2,pool=blur --candidate=blur2_long:augment=shift:2,pool=blur,steps=2000

A candidate is NAME:KEY=VALUE,... over train_classifier's hyperparameters (augment, pool, taps,
penultimate_weight, steps, batch_size, learning_rate, weight_decay, label_smoothing, norm); the
rest are the dataset's defaults (experiments/train_classifier.py DEFAULTS). Each candidate's
weights land in OUT_DIR/NAME/{dataset}_classifier.msgpack (load them with
load_feature_net(dataset, OUT_DIR/NAME)); a finished candidate is reused on a rerun.

Besides the sensitivity bars (blur σ 0.8 ≥ 10×, noise σ 16 ≥ 1.5×, one-pixel shift < 2×), the
table reports whether a view ranks content above pixel statistics: removing one class must cost
more than Gaussian noise σ 16/255 and more than 0.5 % salt pixels (both hard to see, docs/metrics.md
"What the current MNIST features weigh"). --penultimate_weights=1,2 adds views of each candidate
with its penultimate group re-weighted (no retraining). Writes OUT_DIR/results.{json,md}.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import jax
import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments.bench_metrics import bench_one, corruption_cases
from experiments.train_classifier import DEFAULTS, run as train_classifier
from gen_jax.metrics.feature_nets import load_feature_net, weights_path

_DATASET = _DATA_DIR = _OUT = _CANDIDATES = _NUM_TRAIN = _NUM_TEST = _SEED = _WEIGHTS = None

_BOOL = {"true": True, "false": False}


def parse_candidate(spec: str, dataset: str) -> tuple[str, dict]:
    """'NAME:k=v,k=v' -> (NAME, {k: v}) with v typed as DEFAULTS[dataset][k]."""
    name, sep, rest = spec.partition(":")
    if not sep or not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"--candidate {spec!r}: expected NAME:KEY=VALUE,... (NAME of letters, "
                         f"digits, '_' and '-'; the part after ':' may be empty)")
    defaults = DEFAULTS[dataset]
    out = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in defaults:
            raise ValueError(f"--candidate {spec!r}: {item!r} is not KEY=VALUE with KEY one of "
                             f"{sorted(defaults)}")
        default = defaults[key]
        if isinstance(default, bool):
            if value.lower() not in _BOOL:
                raise ValueError(f"--candidate {spec!r}: {key} takes true or false, found {value!r}")
            out[key] = _BOOL[value.lower()]
        elif isinstance(default, int):
            out[key] = int(value)
        elif isinstance(default, float):
            out[key] = float(value)
        else:
            out[key] = None if value == "none" else value
    return name, out


def content_first(rows) -> dict:
    """Ratios that say whether content outweighs pixel statistics, from bench_one's rows."""
    r = {(row["family"], row["strength"]): row["fid_ratio"] for row in rows}
    out = {"drop_1": r[("drop", 1)], "noise_16": r[("noise", 16)], "salt_0.005": r[("salt", 0.005)]}
    out["content_first"] = bool(out["drop_1"] > out["noise_16"] and out["drop_1"] > out["salt_0.005"])
    return out


def sweep(dataset, data_dir, out_dir, candidates, num_train=10000, num_test=2000, seed=0,
          weights=(), on_candidate=None, eval_images=10000) -> list:
    """Train (or reuse) each candidate and score its views: all groups as trained, the same with
    the penultimate group at each of `weights` (stage means kept), and the penultimate alone.
    on_candidate(results so far) runs after each candidate (main writes the tables there, so a
    run stopped part-way keeps what it finished)."""
    results = []
    images = corruption_cases(dataset, data_dir, num_train, num_test, seed)  # shared by every view
    for spec in candidates:
        name, overrides = parse_candidate(spec, dataset)
        cdir = os.path.join(out_dir, name)
        record_path = weights_path(dataset, cdir).removesuffix(".msgpack") + ".json"
        t0 = time.time()
        if os.path.exists(record_path):
            with open(record_path) as f:
                record = json.load(f)
            print(f"sweep: {name}: reusing {record_path}")
        else:
            record = train_classifier(dataset, data_dir, cdir, os.path.join(cdir, "work"), seed=seed,
                                      progress=False, eval_images=eval_images, **overrides)
        net = load_feature_net(dataset, cdir)
        views = [("all groups" if net.taps else "penultimate", net)]
        if net.taps:
            own = record["hyperparameters"]["penultimate_weight"]
            for w in weights:  # the same network, its penultimate group re-weighted
                if w != own:
                    scales = (net.scales[0] * own / w, *net.scales[1:])
                    views.append((f"penultimate weight {w:g}", dataclasses.replace(net, scales=scales)))
            views.append(("penultimate", load_feature_net(dataset + "_penultimate", cdir)))
        for view, v in views:
            res = bench_one(f"{name} ({view})", dataset, v.features, data_dir, num_train, num_test,
                            10, seed, images=images)
            results.append({"candidate": name, "view": view, "overrides": overrides,
                            "hyperparameters": record["hyperparameters"],
                            "test_accuracy": record["test_accuracy"],
                            "train_seconds": record.get("train_seconds"),
                            "fid_real": res["rows"][0]["fid"], "bars": res["bars"],
                            **content_first(res["rows"]), "rows": res["rows"]})
        print(f"sweep: {name} done in {time.time() - t0:.0f} s")
        if on_candidate is not None:
            on_candidate(results)
    return results


def markdown(results, meta) -> str:
    lines = [f"# Feature-network candidates ({meta['dataset']})", "",
             f"{meta['num_test']} test images against {meta['num_train']} training images; "
             "FID ÷ the intact images' FID. Bars: blur σ 0.8 ≥ 10×, noise σ 16 ≥ 1.5×, one-pixel "
             "shift < 2×. Content first: one class removed costs more than noise σ 16 and than "
             "0.5 % salt.", "",
             "| candidate | view | acc | real FID | blur 0.8 | noise 16 | salt 0.5 % | shift 1 | "
             "drop 1 | drop 5 | bars | content first |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        b = r["bars"]
        ratio = {(row["family"], row["strength"]): row["fid_ratio"] for row in r["rows"]}
        bars = all(b[k] for k in ("blur_0.8_pass", "noise_16_pass", "shift_1_pass"))
        lines.append(
            f"| {r['candidate']} | {r['view']} | {100 * r['test_accuracy']:.2f} % | {r['fid_real']:.3f} | "
            f"{b['blur_0.8_ratio']:.1f}× | {b['noise_16_ratio']:.2f}× | {r['salt_0.005']:.2f}× | "
            f"{b['shift_1_ratio']:.2f}× | {r['drop_1']:.1f}× | {ratio[('drop', 5)]:.1f}× | "
            f"{'pass' if bars else 'fail'} | {'yes' if r['content_first'] else 'no'} |")
    lines += ["", "Candidates: " + "; ".join(sorted({f"{r['candidate']} = {r['overrides'] or 'defaults'}"
                                                    for r in results})),
              "", f"Hardware: {meta['hardware']}; jax {meta['jax']}."]
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    os.makedirs(_OUT.value, exist_ok=True)
    for spec in _CANDIDATES.value:  # every spec checked before the first one trains
        parse_candidate(spec, _DATASET.value)
    meta = {"dataset": _DATASET.value, "num_train": _NUM_TRAIN.value, "num_test": _NUM_TEST.value,
            "seed": _SEED.value, "jax": jax.__version__, **bc.run_info()}

    def write(results):
        bc.write_results(_OUT.value, "results", {"meta": meta, "results": results},
                         markdown(results, meta))

    results = sweep(_DATASET.value, _DATA_DIR.value, _OUT.value, _CANDIDATES.value,
                    _NUM_TRAIN.value, _NUM_TEST.value, _SEED.value,
                    tuple(float(w) for w in _WEIGHTS.value), on_candidate=write)
    print(markdown(results, meta))


def define_flags():
    """The command line's flags; defined only when run as a script."""
    global _DATASET, _DATA_DIR, _OUT, _CANDIDATES, _NUM_TRAIN, _NUM_TEST, _SEED, _WEIGHTS
    _DATASET = flags.DEFINE_enum("dataset", "mnist", sorted(DEFAULTS), "Dataset.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Folder holding the datasets (else $GEN_JAX_DATA_DIR).")
    _OUT = flags.DEFINE_string("out_dir", "runs/sweep_feature_nets", "Output directory.")
    _CANDIDATES = flags.DEFINE_multi_string("candidate", ["default:"], "NAME:KEY=VALUE,... (repeatable).")
    _NUM_TRAIN = flags.DEFINE_integer("num_train", 10000, "Random training images of the reference.")
    _NUM_TEST = flags.DEFINE_integer("num_test", 2000, "Random test images scored, intact and corrupted.")
    _SEED = flags.DEFINE_integer("seed", 0, "Seed of training, subsets and corruptions.")
    _WEIGHTS = flags.DEFINE_list("penultimate_weights", [], "Further views of each candidate with "
                                 "stage means: its penultimate group at these weights.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
