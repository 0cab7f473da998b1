"""What each feature group of the MNIST network weighs, on model outputs: FID / precision /
recall of real test images, a VQ-VAE tokenizer's reconstructions of them and samples of any
workdirs, scored with the default network, each of its groups alone (penultimate, stage-0 means,
stage-1 means) and mnist_v1 (docs/metrics.md, "What the current MNIST features weigh").

python -m experiments.bench_feature_groups --tokenizer=runs/vqvae_mnist \
    --run=runs/bench_gan/stability/dcgan_seed0 --run=runs/vae_mnist --num=5000 --num_real=20000 \
    --data_dir=../shared/data --out_dir=runs/bench_feature_groups

--run takes WORKDIR[@SAMPLER[:STEPS][:eta=E][:guidance=W]] as experiments.bench_families does.
Writes results.json and results.md.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from absl import app, flags

from experiments import bench_common as bc

# (label, weights of the groups (penultimate, stage 0, stage 1); None: the network as shipped)
GROUPS = [("default (penultimate + stage means)", None), ("penultimate only", (1, 0, 0)),
          ("stage-0 means only", (0, 1, 0)), ("stage-1 means only", (0, 0, 1))]


def reweighted(net, weights):
    """net with its feature groups multiplied by weights (0 drops a group)."""
    return dataclasses.replace(net, scales=tuple(s / w if w else np.inf for s, w in zip(net.scales, weights)))


def main(argv):
    del argv
    import jax

    from experiments import sampling
    from experiments.bench_families import parse_run, run_samples
    from gen_jax.metrics.feature_nets import load_feature_net
    from gen_jax.utils.images import to_uint8

    os.makedirs(_OUT.value, exist_ok=True)
    n, data_dir = _NUM.value, _DATA_DIR.value
    test = bc.real_images("mnist", data_dir, "test", n, seed=0)
    sets = {"real test images": to_uint8(test)}
    if _TOK.value:
        _, tok, st, _ = sampling.load_objective_and_params(_TOK.value)
        rec = jax.jit(tok.reconstruct)
        sets["tokenizer reconstructions"] = to_uint8(np.concatenate(
            [np.asarray(rec(st.ema_params, test[s:s + 500])) for s in range(0, n, 500)]))
    for spec in _RUN.value:
        r = parse_run(spec)
        c, obj, state, _ = sampling.load_objective_and_params(r["workdir"])
        if c.data.name != "mnist":
            raise app.UsageError(f"--run: {r['workdir']} was trained on {c.data.name!r}, not MNIST")
        sets[f"{os.path.basename(os.path.normpath(r['workdir']))} samples"] = run_samples(
            r, c, obj, state, n, 0, 500)[0]
    net = load_feature_net("mnist")
    nets = [(label, net if w is None else reweighted(net, w)) for label, w in GROUPS]
    nets.append(("mnist_v1", load_feature_net("mnist_v1")))
    rows = []
    for label, fnet in nets:
        ref, num_real = bc.training_reference(fnet, "mnist", data_dir, n, _NUM_REAL.value)
        for name, images in sets.items():
            m = bc.scores(fnet, images, ref)
            rows.append({"features": label, "images": name, "num": len(images), "fid": m["fid"],
                         "precision": m["precision"], "recall": m["recall"]})
            print(f"{label:38s} {name:32s} FID {m['fid']:9.2f}  precision {m['precision']:.3f}  "
                  f"recall {m['recall']:.3f}", flush=True)
    meta = {"num": n, "num_real": num_real, "tokenizer": _TOK.value, "runs": _RUN.value, **bc.run_info()}
    md = bc.markdown_table(rows, [("features", "features"), ("images", "images"), ("N", "num"),
                                  ("FID", "fid", "{:.2f}"), ("precision", "precision", "{:.3f}"),
                                  ("recall", "recall", "{:.3f}")])
    md += (f"\n\nMNIST; reference: {num_real} random training images; precision/recall k = 3; groups "
           f"re-weighted on load_feature_net('mnist'); hardware: {meta['hardware']}.\n")
    bc.write_results(_OUT.value, "results", {"meta": meta, "rows": rows}, md, echo=True)


def define_flags():
    """The command line's flags; defined only when run as a script."""
    global _TOK, _RUN, _NUM, _NUM_REAL, _DATA_DIR, _OUT
    _TOK = flags.DEFINE_string("tokenizer", "", "A vqvae workdir: its reconstructions of the test images.")
    _RUN = flags.DEFINE_multi_string("run", [], "WORKDIR[@SAMPLER[:STEPS][:eta=E][:guidance=W]] (repeatable).")
    _NUM = flags.DEFINE_integer("num", 5000, "Test images / samples per set.")
    _NUM_REAL = flags.DEFINE_integer("num_real", 20000, "Training images of the reference (0: all).")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Folder holding mnist/ (else $GEN_JAX_DATA_DIR).")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_feature_groups", "Output directory.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
