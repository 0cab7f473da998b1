"""Sample quality of VAEs sampled from the prior (z ~ N(0, I), decoded), for trained workdirs.

python -m experiments.bench_vae --workdirs=runs/vae_mnist,runs/vae_fashion_mnist --num=300,2000 \
    --data_dir=../shared/data --out_dir=runs/bench_vae

For every workdir and sample count N: FID, precision/recall and density/coverage (k = 3) of the first N prior
samples against --num_real random training images in the dataset's feature-network space
(gen_jax/metrics/feature_nets.py), the real-vs-real floor at the same N (N test images against
the training statistics) and the normalised entropy of the predicted classes. Writes results.json,
results.md and one sample grid per workdir (samples_DATASET.png, the first 100 samples).
--feature_nets=mnist,mnist_v1,fashion_mnist,fashion_mnist_v1 adds, per dataset, the FID and floor
FID of the same images in its further networks (fid_mnist_v1, floor_fid_mnist_v1).
"""

from __future__ import annotations

import os

import jax
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments import sampling as sample_lib
from gen_jax.utils.images import save_grid

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _WORKDIRS, _NUM, _SEED, _DATA_DIR, _OUT, _NUM_REAL, _NETS
    _WORKDIRS = flags.DEFINE_list("workdirs", None, "Trained VAE workdirs (objective 'vae').")
    _NUM = flags.DEFINE_list("num", ["300", "2000"], "Sample counts N (one row each).")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed (sample i uses fold_in(seed, i)).")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: each run's config).")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_vae", "Output directory.")
    _NUM_REAL = flags.DEFINE_integer("num_real", 10000, "Training images of the reference statistics "
                                     "(0: the whole split).")
    _NETS = flags.DEFINE_list("feature_nets", [], bc.FEATURE_NETS_HELP)


def markdown(rows, meta) -> str:
    nets = meta.get("nets") or [r["data"] for r in rows[:1]]
    table = bc.markdown_table(rows, [
        ("data", "data"), ("workdir", "workdir"), ("step", "step"), ("N", "num"),
        *bc.fid_columns(nets, fmt="{:.3f}"),
        *bc.fid_columns(nets, "floor_fid", "{:.3f}", "floor FID (real, same N)"),
        ("precision", "precision", "{:.3f}"),
        ("recall", "recall", "{:.3f}"), ("density", "density", "{:.3f}"),
        ("coverage", "prdc_coverage", "{:.3f}"), ("class entropy", "class_entropy", "{:.3f}")])
    return table + (f"\n\nFeatures: each dataset's classifier ({meta['feature_nets']}); "
                    f"reference: {meta['num_real']} random training images; seed {meta['seed']}; "
                    f"hardware: {meta['hardware']}.\n")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    nums = sorted({int(n) for n in _NUM.value})
    if nums[0] <= 3:
        raise app.UsageError(f"--num values must be > 3 (k-NN precision/recall), got {nums}")
    os.makedirs(_OUT.value, exist_ok=True)
    rows, names, firsts, extras = [], {}, [], []
    for workdir in _WORKDIRS.value:
        c, objective, state, _ = sample_lib.load_objective_and_params(workdir)
        if c.objective.name != "vae":
            raise app.UsageError(f"--workdirs: {workdir} is a {c.objective.name!r} run, not a 'vae' one")
        data_dir = _DATA_DIR.value or c.data.dir or None
        nets = bc.feature_nets(c.data.name, _NETS.value)
        net, name = next(iter(nets.values())), next(iter(nets))
        names[c.data.name] = bc.net_names(nets)
        firsts.append(name)
        extras += [n for n in list(nets)[1:] if n not in extras]
        refs, _ = bc.references(nets, c.data.name, data_dir, nums[-1], _NUM_REAL.value)
        ref = refs[name]
        test = bc.real_images(c.data.name, data_dir, "test", seed=None)
        images = sample_lib.generate(objective, state.ema_params, num=nums[-1], seed=_SEED.value,
                                     sampler="prior", num_steps=1, batch_size=500)
        save_grid(os.path.join(_OUT.value, f"samples_{c.data.name}.png"), images[:100], ncols=10)
        for n in nums:
            row = {"data": c.data.name, "workdir": workdir, "step": int(jax.device_get(state.step)),
                   "num": n, "floor_fid": bc.fid_to(net, test[:n], ref), **bc.scores(net, images[:n], ref),
                   **bc.extra_fids(nets, images[:n], refs), **bc.extra_fids(nets, test[:n], refs, "floor_")}
            rows.append(row)
            print(f"{c.data.name} N={n}: FID {row['fid']:.3f} (floor {row['floor_fid']:.3f}), "
                  f"precision {row['precision']:.3f}, recall {row['recall']:.3f}")
    meta = {"seed": _SEED.value, "num_real": _NUM_REAL.value or "all",
            "feature_nets": ", ".join(f"{k}: {v}" for k, v in names.items()),
            "nets": [" / ".join(dict.fromkeys(firsts)), *extras],  # the table's FID columns
            **bc.run_info()}
    bc.write_results(_OUT.value, "results", {"meta": meta, "rows": rows}, markdown(rows, meta),
                     echo=True)


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["workdirs"])
    app.run(main)
