"""Sample quality against sampler step count (NFE), for a trained workdir.

python -m experiments.bench_samplers --workdir=runs/mnist --samplers=ddpm,ddim,ddim:eta=1 \
    --nfe=5,10,20,50,100,250,1000 --num=10000 --data_dir=../shared/data

For every (sampler, NFE, guidance) cell: FID, KID, precision/recall (k=3) against the training set
in the dataset's feature-network space, class accuracy (conditional models), seconds per 1k samples
and the sampler overhead = sampler wall time / (NFE × one jitted denoiser call on the same batch).
Each sampler compiles once for the whole sweep (NFE, η and guidance are runtime values): the
compilation count is reported. --feature_nets=mnist,mnist_v1 adds the FID of the same samples in every
further feature network (fid_mnist_v1, and its floor). Finished cells are stored as JSON and not
recomputed on rerun.
Writes results.json, results.md and fid_vs_nfe.png in --out_dir (default WORKDIR/bench_samplers).
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging
from tqdm.auto import tqdm

from experiments import bench_common as bc
from experiments import sampling as sample_lib
from gen_jax.metrics import class_coverage, kernel_inception_distance, prdc
from gen_jax.metrics.frechet import frechet_distance
from gen_jax.train import sharding

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _WORKDIR, _SAMPLERS, _NFE, _DDPM_NFE, _GUIDANCE, _NUM, _BATCH, _SEED, _SPACING
    global _DATA_DIR, _OUT, _NUM_REAL, _SAVE, _NETS
    _WORKDIR = flags.DEFINE_string("workdir", None, "Trained workdir (experiments.main).")
    _SAMPLERS = flags.DEFINE_list("samplers", ["ddpm", "ddim"], "Samplers: ddpm, ddim, ddim:eta=X.")
    _NFE = flags.DEFINE_list("nfe", ["5", "10", "20", "50", "100", "250", "1000"], "Step counts.")
    _DDPM_NFE = flags.DEFINE_list("ddpm_nfe", None, "Step counts for ddpm (default: --nfe).")
    _GUIDANCE = flags.DEFINE_list("guidance", ["1"], "CFG scales w (conditional models): 0 "
                                   "unconditional, 1 conditional, >1 guided.")
    _NUM = flags.DEFINE_integer("num", 10000, "Samples per cell.")
    _BATCH = flags.DEFINE_integer("batch_size", 500, "Samples per device call.")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed (sample i uses fold_in(seed, i)).")
    _SPACING = flags.DEFINE_string("spacing", "trailing", "Timestep spacing.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the run's config).")
    _OUT = flags.DEFINE_string("out_dir", None, "Output directory (default WORKDIR/bench_samplers).")
    _NUM_REAL = flags.DEFINE_integer("num_real", None, "Training images for the reference statistics "
                                     "(default: the whole training split).")
    _SAVE = flags.DEFINE_bool("save_samples", False, "Also save each cell's samples as .npz.")
    _NETS = flags.DEFINE_list("feature_nets", [], bc.FEATURE_NETS_HELP)


def parse_sampler(spec: str):
    """'ddim:eta=1' -> ('ddim', {'eta': 1.0})."""
    from gen_jax.samplers import SAMPLERS

    name, _, rest = spec.partition(":")
    opts = {}
    for kv in filter(None, rest.split(",")):
        k, _, v = kv.partition("=")
        if k != "eta":
            raise app.UsageError(f"unknown sampler option {k!r} in {spec!r} (known: eta)")
        opts[k] = float(v)
    if name not in SAMPLERS:
        raise app.UsageError(f"unknown sampler {name!r} in --samplers; expected one of {list(SAMPLERS)}")
    return name, opts


# the x-axis of the benchmark is network calls
def network_calls(name: str, num_steps: int, **options) -> int:
    """Network calls of one sample (gen_jax.samplers.SAMPLERS[name].calls)."""
    from gen_jax.samplers import SAMPLERS

    return SAMPLERS[name].calls(num_steps, **options)


def steps_for_nfe(name: str, nfe: int) -> int:
    """The step count whose network-call count is closest to (and not above) nfe."""
    calls = lambda n: network_calls(name, n)  # noqa: E731
    n = max(1, nfe)
    while n > 1 and calls(n) > nfe:
        n -= 1
    return n


def evaluate(net, images_uint8, mu_r, sigma_r, real_subset, labels=None):
    from gen_jax.metrics.feature_nets import feature_stats, predict_labels

    mu, sigma, feats = feature_stats(net, images_uint8)
    fid = frechet_distance(mu, sigma, mu_r, sigma_r)
    kid, _ = kernel_inception_distance(feats, real_subset, num_subsets=20,
                                       subset_size=min(1000, len(feats)))
    pr = prdc(real_subset[: len(feats)], feats, k=3)
    out = {"fid": float(fid), "kid": float(kid), "precision": float(pr["precision"]),
           "recall": float(pr["recall"])}
    pred = predict_labels(net, images_uint8)
    cov = class_coverage(pred, net.num_classes)
    out["class_entropy"] = float(cov["normalized_entropy"])
    if labels is not None:
        out["class_accuracy"] = float(np.mean(pred == labels))
    return out


def markdown(rows, meta) -> str:
    nets = meta.get("feature_nets") or [meta["data"]]
    cols = [("sampler", "sampler"), ("NFE", "nfe"), ("w", "guidance", "{:g}"),
            *bc.fid_columns(nets, fmt="{:.3f}"),
            ("KID×1e3", "kid", lambda v: f"{1e3 * v:.2f}"), ("precision", "precision", "{:.3f}"),
            ("recall", "recall", "{:.3f}"), ("s / 1k samples", "sec_per_1k", "{:.2f}"),
            ("overhead", "overhead", "{:.3f}")]
    if any("class_accuracy" in r for r in rows):
        cols.append(("class acc.", "class_accuracy", "{:.3f}"))
    notes = (f"\n{meta['num']} samples per cell; features: {meta['feature_net']}; reference: "
             f"{meta['data']} train split ({meta['num_real']} images); hardware: {meta['hardware']}; "
             f"compilations per sampler: {meta['compilations']}; real-vs-real floor FID "
             f"(test split vs train stats): {meta['floor_fid']:.3f}"
             + "".join(f", {meta['floor_' + k]:.3f} ({n})" for n, k in zip(nets[1:], bc.extra_fid_keys(nets)))
             + ".\n")
    return bc.markdown_table(rows, cols) + "\n" + notes


def plot(rows, path):
    series = {}
    for key in sorted({(r["sampler"], r["guidance"]) for r in rows}):
        rs = sorted((r for r in rows if (r["sampler"], r["guidance"]) == key), key=lambda r: r["nfe"])
        label = key[0] + (f", w={key[1]:g}" if key[1] != 1 else "")
        series[label] = ([r["nfe"] for r in rs], [r["fid"] for r in rs])
    bc.line_plot(path, series, xlabel="NFE (network calls)", ylabel="FID (feature-net space)",
                 xscale="log", yscale="log", dpi=120)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    workdir = _WORKDIR.value
    out_dir = _OUT.value or os.path.join(workdir, "bench_samplers")
    os.makedirs(os.path.join(out_dir, "cells"), exist_ok=True)
    c, objective, state, _ = sample_lib.load_objective_and_params(workdir)
    data_dir = _DATA_DIR.value or c.data.dir or None
    nets = bc.feature_nets(c.data.name, _NETS.value)
    net = next(iter(nets.values()))
    params = state.ema_params
    T = objective.schedule.num_timesteps
    conditional = bool(objective.num_classes)
    labels = (np.arange(_NUM.value) % objective.num_classes).astype(np.int32) if conditional else None
    guidances = [float(g) for g in _GUIDANCE.value] if conditional else [1.0]

    print("reference statistics ...")
    refs, num_real = bc.references(nets, c.data.name, data_dir, _NUM.value, _NUM_REAL.value, seed=None)
    ref = refs[next(iter(nets))]
    mu_r, sigma_r, real_subset = ref.mu, ref.sigma, ref.feats
    test = bc.real_images(c.data.name, data_dir, "test", _NUM.value, seed=None)
    floor = bc.fid_to(net, test, ref)
    floors = bc.extra_fids(nets, test, refs, "floor_")
    print(f"real-vs-real floor FID ({len(test)} test vs train): {floor:.3f}")

    mesh = sharding.make_mesh()
    bs = -(-min(_BATCH.value, _NUM.value) // mesh.devices.size) * mesh.devices.size
    rows, compilations = [], {}
    for spec in _SAMPLERS.value:
        name, opts = parse_sampler(spec)
        traces = []
        fn = sample_lib.sampler_fn(objective, name, _SPACING.value, conditional, mesh,
                                   on_trace=lambda: traces.append(1))
        nfes = [int(n) for n in ((_DDPM_NFE.value if name == "ddpm" and _DDPM_NFE.value else _NFE.value))]
        if any(not 1 <= n <= T for n in nfes):
            raise app.UsageError(f"--nfe values must be in [1, {T}], got {nfes}")

        def cell_path(n, w):
            key = f"{spec.replace(':', '_').replace('=', '')}_nfe{n}_w{w:g}_num{_NUM.value}_seed{_SEED.value}"
            return os.path.join(out_dir, "cells", key + ".json")

        def done(n, w):  # a finished cell with every network's FID
            if not os.path.exists(cell_path(n, w)):
                return None
            with open(cell_path(n, w)) as f:
                row = json.load(f)
            return row if all(k in row for k in bc.extra_fid_keys(nets)) else None

        todo = [(n, w) for w in guidances for n in nfes if done(n, w) is None]
        rows += [done(n, w) for w in guidances for n in nfes if (n, w) not in todo]
        compilations[spec] = 0
        if not todo:
            continue
        # compile once, before any timing: every later call reuses this executable
        warm_keys = sharding.put_batch(sample_lib.sample_keys(0, 0, bs), mesh)
        warm_lab = sharding.put_batch(np.zeros((bs,), np.int32), mesh)
        z = jnp.zeros(objective.image_shape)
        jax.block_until_ready(fn(params, warm_keys, warm_lab, jnp.int32(1), jnp.float32(0),
                                 jnp.float32(0), z, z, jnp.float32(0), None, jnp.float32(0)))
        for w in sorted({w for _, w in todo}):
            # one jitted denoiser call on the same batch: the unit of the overhead ratio
            x = jnp.zeros((bs, *objective.image_shape))
            t = jnp.full((bs,), T // 2, jnp.int32)
            lab = jnp.asarray(np.resize(labels, bs)) if conditional else None
            den = jax.jit(lambda p, x, t, l, w: objective.denoiser(p, l, w)(x, t))
            t_call = sample_lib.time_call(den, params, x, t, lab, jnp.float32(w))
            for n in [n for n, w_ in todo if w_ == w]:
                path = cell_path(n, w)
                batch_times = []
                images = sample_lib.generate(
                    objective, params, num=_NUM.value, seed=_SEED.value, sampler=name,
                    num_steps=steps_for_nfe(name, n),
                    eta=opts.get("eta", 1.0 if name == "euler_ancestral" else 0.0), spacing=_SPACING.value, labels=labels, guidance=w,
                    batch_size=bs, fn=fn, on_batch=lambda s, b: batch_times.append((s, b)))
                timed = batch_times  # compiled already (the warm-up above), so every batch counts
                sec = sum(s for s, _ in timed) / sum(b for _, b in timed)
                steps = steps_for_nfe(name, n)
                calls = network_calls(name, steps)
                overhead = (sum(s for s, _ in timed) / len(timed)) / (calls * t_call)
                row = {"sampler": spec, "nfe": calls, "steps": steps, "guidance": w, "num": _NUM.value,
                       "sec_per_1k": 1000 * sec, "overhead": overhead, "denoiser_call_s": t_call,
                       **evaluate(net, images, mu_r, sigma_r, real_subset, labels),
                       **bc.extra_fids(nets, images, refs)}
                if _SAVE.value:
                    np.savez(path.removesuffix(".json") + ".npz", images=images,
                             **({"labels": labels} if labels is not None else {}))
                with open(path, "w") as f:
                    json.dump(row, f)
                rows.append(row)
                tqdm.write(f"{spec} NFE={n} w={w:g}: FID {row['fid']:.3f} overhead {overhead:.3f}")
        compilations[spec] = len(traces)
    meta = {"workdir": workdir, "num": _NUM.value, "feature_net": bc.net_names(nets),
            "feature_nets": list(nets), **floors, "data": c.data.name,
            "num_real": int(num_real), "compilations": compilations, "floor_fid": floor,
            "batch_size": bs, **bc.run_info()}
    bc.write_results(out_dir, "results", {"meta": meta, "rows": rows}, markdown(rows, meta))
    plot(rows, os.path.join(out_dir, "fid_vs_nfe.png"))
    print(markdown(rows, meta))


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["workdir"])
    app.run(main)
