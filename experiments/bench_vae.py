"""Sample quality of VAEs sampled from the prior (z ~ N(0, I), decoded), for trained workdirs.

python -m experiments.bench_vae --workdirs=runs/vae_mnist,runs/vae_fashion_mnist --num=300,2000 \
    --data_dir=../shared/data --out_dir=runs/bench_vae

For every workdir and sample count N: FID, precision/recall and density/coverage (k = 3) of the first N prior
samples against --num_real random training images in the dataset's feature-network space
(gen_jax/metrics/feature_nets.py), the real-vs-real floor at the same N (N test images against
the training statistics) and the normalised entropy of the predicted classes. Writes results.json,
results.md and one sample grid per workdir (samples_DATASET.png, the first 100 samples).
"""

from __future__ import annotations

import json
import os

import jax
import numpy as np
from absl import app, flags, logging

from experiments import sampling as sample_lib
from gen_jax.data import load_dataset
from gen_jax.metrics.frechet import frechet_distance
from gen_jax.train.evaluation import real_reference, score
from gen_jax.utils.images import save_grid

_WORKDIRS = flags.DEFINE_list("workdirs", None, "Trained VAE workdirs (objective 'vae').")
_NUM = flags.DEFINE_list("num", ["300", "2000"], "Sample counts N (one row each).")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed (sample i uses fold_in(seed, i)).")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: each run's config).")
_OUT = flags.DEFINE_string("out_dir", "runs/bench_vae", "Output directory.")
_NUM_REAL = flags.DEFINE_integer("num_real", 10000, "Training images of the reference statistics "
                                 "(0: the whole split).")
flags.mark_flags_as_required(["workdirs"])


def markdown(rows, meta) -> str:
    head = ["data", "workdir", "step", "N", "FID", "floor FID (real, same N)", "precision", "recall",
            "density", "coverage", "class entropy"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([
            r["data"], r["workdir"], str(r["step"]), str(r["num"]), f"{r['fid']:.3f}",
            f"{r['floor_fid']:.3f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}",
            f"{r['density']:.3f}", f"{r['prdc_coverage']:.3f}", f"{r['class_entropy']:.3f}"]) + " |")
    return "\n".join(lines) + (f"\n\nFeatures: each dataset's classifier ({meta['feature_nets']}); "
                               f"reference: {meta['num_real']} random training images; seed {meta['seed']}; "
                               f"hardware: {meta['hardware']}.\n")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from gen_jax.metrics.feature_nets import feature_stats, load_feature_net

    nums = sorted(int(n) for n in _NUM.value)
    if nums[0] <= 3:
        raise app.UsageError(f"--num values must be > 3 (k-NN precision/recall), got {nums}")
    os.makedirs(_OUT.value, exist_ok=True)
    rows, nets = [], {}
    for workdir in _WORKDIRS.value:
        c, objective, state, _ = sample_lib.load_objective_and_params(workdir)
        if c.objective.name != "vae":
            raise app.UsageError(f"--workdirs: {workdir} is a {c.objective.name!r} run, not a 'vae' one")
        data_dir = _DATA_DIR.value or c.data.dir or None
        net = load_feature_net(c.data.name)
        nets[c.data.name] = net.name
        train = load_dataset(c.data.name, data_dir, "train").images
        train = train[np.random.default_rng(0).permutation(len(train))[: _NUM_REAL.value or None]]
        test = load_dataset(c.data.name, data_dir, "test").images
        ref = real_reference(net, train, nums[-1])
        images = sample_lib.generate(objective, state.ema_params, num=nums[-1], seed=_SEED.value,
                                     sampler="prior", num_steps=1, batch_size=500)
        save_grid(os.path.join(_OUT.value, f"samples_{c.data.name}.png"), images[:100], ncols=10)
        for n in nums:
            mu_t, sigma_t, _ = feature_stats(net, test[:n])
            row = {"data": c.data.name, "workdir": workdir, "step": int(jax.device_get(state.step)),
                   "num": n, "floor_fid": float(frechet_distance(mu_t, sigma_t, ref.mu, ref.sigma)),
                   **{k: float(v) for k, v in score(net, images[:n], ref).items() if '/' not in k}}
            rows.append(row)
            print(f"{c.data.name} N={n}: FID {row['fid']:.3f} (floor {row['floor_fid']:.3f}), "
                  f"precision {row['precision']:.3f}, recall {row['recall']:.3f}")
    meta = {"seed": _SEED.value, "num_real": _NUM_REAL.value or "all", "feature_nets": ", ".join(f"{k}: {v}" for k, v in nets.items()),
            "hardware": f"{jax.device_count()}× {jax.devices()[0].device_kind} ({jax.default_backend()})"}
    with open(os.path.join(_OUT.value, "results.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    md = markdown(rows, meta)
    with open(os.path.join(_OUT.value, "results.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    app.run(main)
