"""The CIFAR-10 protocol of the DDPM/DDIM papers on the imported google/ddpm-cifar10-32, one command.

FID (pytorch-fid's Inception, converted by experiments.convert_inception) of N samples against the
statistics of the 50,000 CIFAR-10 training images, for DDPM-1000 (Ho et al. 2020: 3.17) and DDIM
at 10/20/50/100 steps (Song et al. 2021, table 1, η = 0: 13.36 / 6.84 / 4.67 / 4.16), with
DPM-Solver++(2M) and UniPC beside them. Sized for an accelerator.

  # full protocol: 50,000 samples per cell
  python -m experiments.bench_cifar10_protocol --src=ddpm-cifar10-32 --inception=inception_fid.msgpack \
      --data_dir=../shared/data --out_dir=runs/cifar10_protocol
  # a few minutes of one H100/H200: 10,000 samples, DDIM-10/50, DPM-Solver++ and UniPC at 10, bf16
  python -m experiments.bench_cifar10_protocol --quick --src=ddpm-cifar10-32 \
      --inception=inception_fid.msgpack --data_dir=../shared/data --out_dir=runs/cifar10_quick

Cells are NAME:STEPS[:SPACING] (a sampler of gen_jax.samplers.SAMPLERS; spacing default leading,
the DDIM paper's "uniform" skip t = 0, T/n, 2T/n, ...). Finished cells are kept as JSON in
OUT_DIR/cells and not recomputed; results.json and results.md hold the table.
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments import build
from experiments import sampling as sample_lib
from gen_jax.metrics.features import init_stats, mean_cov, update_stats
from gen_jax.metrics.frechet import frechet_distance

PUBLISHED = {("ddpm", 1000): 3.17, ("ddim", 10): 13.36, ("ddim", 20): 6.84, ("ddim", 50): 4.67,
             ("ddim", 100): 4.16}
FULL_CELLS = ["ddpm:1000", "ddim:10", "ddim:20", "ddim:50", "ddim:100", "dpm_solver_pp_2m:10",
              "dpm_solver_pp_2m:20", "unipc:10", "unipc:20"]
QUICK_CELLS = ["ddim:10", "ddim:50", "dpm_solver_pp_2m:10", "unipc:10"]


def parse_cell(spec: str):
    """'ddim:10' -> ('ddim', 10, 'leading'); 'unipc:10:trailing' -> ('unipc', 10, 'trailing')."""
    from gen_jax.samplers import SAMPLERS
    from gen_jax.samplers.common import SPACINGS

    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit():
        raise app.UsageError(f"--cells entry {spec!r}: expected NAME:STEPS[:SPACING]")
    spacing = parts[2] if len(parts) == 3 else "leading"
    if parts[0] not in SAMPLERS or spacing not in SPACINGS:
        raise app.UsageError(f"--cells entry {spec!r}: sampler one of {list(SAMPLERS)}, spacing one of {SPACINGS}")
    return parts[0], int(parts[1]), spacing


def feature_moments(features, images_uint8, batch_size: int = 500):
    """(mu [D], sigma [D, D]) float64 of features(batch) over images [N, H, W, 3] uint8, streaming
    (the last batch is zero-padded and masked, so features compiles once)."""
    stats = None
    for start in range(0, len(images_uint8), batch_size):
        chunk = np.asarray(images_uint8[start:start + batch_size])
        real = len(chunk)
        if real < batch_size and start > 0:
            chunk = np.concatenate([chunk, np.zeros((batch_size - real, *chunk.shape[1:]), chunk.dtype)])
        f = features(jnp.asarray(chunk))
        stats = init_stats(f.shape[-1]) if stats is None else stats
        stats = update_stats(stats, f, jnp.arange(len(chunk)) < real)
    return mean_cov(stats)


def run(objective, params, features, train_images, cells, *, num: int, seed: int = 0,
        batch_size: int = 1000, out_dir: str, meta: dict | None = None, ref_stats: str | None = None):
    """FID of each cell (NAME:STEPS[:SPACING]) against train_images' statistics (or the mu/sigma
    of the npz ref_stats, e.g. the TTUR/pytorch-fid CIFAR-10 training statistics); writes
    out_dir/results.json and results.md and returns the rows."""
    os.makedirs(os.path.join(out_dir, "cells"), exist_ok=True)
    ref_path = ref_stats or os.path.join(out_dir, f"train_stats_{len(train_images)}.npz")
    if os.path.exists(ref_path):
        ref = np.load(ref_path)
        mu_r, sigma_r = ref["mu"], ref["sigma"]
    else:
        t0 = time.perf_counter()
        mu_r, sigma_r = feature_moments(features, train_images)
        np.savez(ref_path, mu=mu_r, sigma=sigma_r)
        print(f"training-set statistics of {len(train_images)} images: {time.perf_counter() - t0:.1f} s")
    rows = []
    for spec in cells:
        name, steps, spacing = parse_cell(spec)
        path = os.path.join(out_dir, "cells", f"{name}_{steps}_{spacing}_num{num}_seed{seed}.json")
        if os.path.exists(path):
            with open(path) as f:
                rows.append(json.load(f))
            continue
        t0 = time.perf_counter()
        images = sample_lib.generate(objective, params, num=num, seed=seed, sampler=name, num_steps=steps,
                                     eta=0.0, spacing=spacing, batch_size=batch_size, progress=False)
        t_sample = time.perf_counter() - t0
        mu, sigma = feature_moments(features, images)
        row = {"sampler": name, "steps": steps, "spacing": spacing, "num": num, "seed": seed,
               "fid": float(frechet_distance(mu, sigma, mu_r, sigma_r)),
               "published_fid": PUBLISHED.get((name, steps)), "sample_seconds": t_sample}
        with open(path, "w") as f:
            json.dump(row, f)
        rows.append(row)
        print(f"{spec}: FID {row['fid']:.2f} (published {row['published_fid']}) in {t_sample:.0f} s of sampling")
    meta = {**(meta or {}), "reference": ref_stats or f"{len(train_images)} training images",
            **bc.run_info()}
    table = bc.markdown_table(rows, [
        ("sampler", "sampler"), ("steps", "steps"), ("spacing", "spacing"), ("samples", "num"),
        ("FID", "fid", "{:.2f}"), ("published FID", "published_fid", "{:.2f}"),
        ("sampling s", "sample_seconds", "{:.0f}")], missing="")
    md = table + "\n\n" + "; ".join(f"{k}: {v}" for k, v in meta.items()) + "\n"
    bc.write_results(out_dir, "results", {"meta": meta, "rows": rows}, md, echo=True)
    return rows


def define_flags():
    """Flags, defined only when run as a script (tests import this module beside others)."""
    flags.DEFINE_string("src", None, "diffusers folder of google/ddpm-cifar10-32 (imported into "
                        "OUT_DIR/workdir unless --workdir is given).")
    flags.DEFINE_string("workdir", None, "An imported workdir (experiments.import_diffusers).")
    flags.DEFINE_string("inception", None, "pytorch-fid Inception params (msgpack, from "
                        "experiments.convert_inception).")
    flags.DEFINE_string("data_dir", None, "Data directory holding CIFAR-10.")
    flags.DEFINE_string("out_dir", "runs/cifar10_protocol", "Output directory.")
    flags.DEFINE_list("cells", None, "NAME:STEPS[:SPACING] cells (default: the full table, "
                      "or with --quick the quick one).")
    flags.DEFINE_integer("num", None, "Samples per cell (default 50000; --quick: 10000).")
    flags.DEFINE_bool("quick", False, f"The few-minute version: {QUICK_CELLS}, 10,000 samples, "
                      "bfloat16 compute unless --dtype says otherwise.")
    flags.DEFINE_enum("dtype", None, ["float32", "bfloat16"], "U-Net compute dtype "
                      "(default float32; --quick: bfloat16).")
    flags.DEFINE_integer("batch_size", 1000, "Samples per device call.")
    flags.DEFINE_integer("seed", 0, "Sampling seed.")
    flags.DEFINE_string("ref_stats", None, "npz with the reference mu/sigma (e.g. TTUR's "
                        "fid_stats_cifar10_train.npz); default: computed from --data_dir's CIFAR-10 "
                        "training split (a JPEG re-encoding in ../shared/data: not comparable with "
                        "published numbers).")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from gen_jax.data import load_dataset
    from gen_jax.metrics.inception import load_inception

    if not flags.FLAGS.inception:
        raise app.UsageError("--inception: give the msgpack written by experiments.convert_inception "
                             "(docs/pretrained.md says how to get pytorch-fid's weights)")
    workdir = flags.FLAGS.workdir
    if workdir is None:
        if not flags.FLAGS.src:
            raise app.UsageError("give --src (a diffusers folder) or --workdir (an imported one)")
        from experiments.import_diffusers import import_folder

        workdir = os.path.join(flags.FLAGS.out_dir, "workdir")
        if not os.path.exists(os.path.join(workdir, "run.json")):
            import_folder(flags.FLAGS.src, workdir)
    dtype = flags.FLAGS.dtype or ("bfloat16" if flags.FLAGS.quick else "float32")
    c, _, state, _ = sample_lib.load_objective_and_params(workdir)
    c.model.dtype = dtype
    objective = build.objective(c, build.load_run_info(workdir)[1], None)  # params stay float32
    if flags.FLAGS.ref_stats:
        if not os.path.exists(flags.FLAGS.ref_stats):
            raise app.UsageError(f"--ref_stats: no file at {flags.FLAGS.ref_stats!r} (an npz with mu and sigma)")
        train_uint8 = np.zeros((0, 32, 32, 3), np.uint8)
    else:
        train = load_dataset("cifar10", flags.FLAGS.data_dir, "train").images
        train_uint8 = np.asarray(np.clip(np.round((np.asarray(train) + 1) * 127.5), 0, 255), np.uint8)
    cells = flags.FLAGS.cells or (QUICK_CELLS if flags.FLAGS.quick else FULL_CELLS)
    num = flags.FLAGS.num or (10_000 if flags.FLAGS.quick else 50_000)
    run(objective, state.ema_params, jax.jit(load_inception(flags.FLAGS.inception)), train_uint8, cells,
        num=num, seed=flags.FLAGS.seed, batch_size=flags.FLAGS.batch_size, out_dir=flags.FLAGS.out_dir,
        meta={"workdir": workdir, "dtype": dtype, "features": "pytorch-fid InceptionV3 pool3"},
        ref_stats=flags.FLAGS.ref_stats)


if __name__ == "__main__":
    define_flags()
    app.run(main)
