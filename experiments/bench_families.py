"""Trained workdirs of any families side by side: the same number of samples from each, scored in
the same feature networks against the same real reference (FID per network, precision, recall,
class entropy, seconds per sample).

python -m experiments.bench_families --run=runs/dcgan --run=runs/vae_mnist \
    --run=runs/ar_mnist --run=runs/maskgit_mnist@:8 --run=runs/mnist@ddim:20:eta=1 \
    --num=10000 --num_real=0 --feature_nets=mnist,mnist_penultimate,mnist_v1 \
    --data_dir=../shared/data --out_dir=runs/bench_families

--run=WORKDIR[@SAMPLER[:STEPS][:eta=E][:guidance=W]] (repeatable): a workdir and, optionally, the
sampler, its steps and options (default: the family's own sampler and steps; a VAE samples its
prior; a MaskGIT run takes only its steps, WORKDIR@:STEPS). Class-conditional models get labels i % classes. All runs must share the first run's
dataset. The first feature network gives the usual keys (fid, precision, recall, ...), every
other one fid_NAME; "floor" is N random real test images against the same reference. Seconds per
sample: the wall time of every batch after the first (compilation excluded), over the samples.
Writes results.json, results.md (rewritten after every run) and samples_K.png per run.
"""

from __future__ import annotations

import os

import numpy as np
from absl import app, flags

from experiments import bench_common as bc


def parse_run(spec: str) -> dict:
    """'WORKDIR[@SAMPLER[:STEPS][:eta=E][:guidance=W]]' -> {workdir, sampler, num_steps, eta,
    guidance} (None: the family's default)."""
    workdir, _, rest = spec.partition("@")
    out = {"workdir": workdir, "sampler": None, "num_steps": None, "eta": 0.0, "guidance": 1.0}
    if not workdir:
        raise app.UsageError(f"--run={spec!r}: expected WORKDIR[@SAMPLER[:STEPS][:eta=E][:guidance=W]]")
    if rest:
        name, *opts = rest.split(":")
        out["sampler"] = name or None
        for o in opts:
            key, eq, val = o.partition("=")
            try:
                if not eq:
                    out["num_steps"] = int(key)
                elif key in ("eta", "guidance"):
                    out[key] = float(val)
                else:
                    raise ValueError(key)
            except ValueError:
                raise app.UsageError(f"--run={spec!r}: bad option {o!r}; expected STEPS (an integer), "
                                     f"eta=E or guidance=W") from None
    return out


def run_samples(r: dict, c, objective, state, num: int, seed: int, batch_size: int, on_batch=None):
    """(uint8 samples [num, H, W, C], a label of the sampling) of one parsed --run: the family's own
    sampler unless r names one (a VAE: its prior), labels i % classes for class-conditional runs; a
    non-iterative run's steps (MaskGIT's) are a static option."""
    from experiments import sampling

    family = c.objective.name
    sampler = r["sampler"] or ("prior" if family == "vae" else None)
    steps = r["num_steps"] if r["num_steps"] is not None else (1 if family == "vae" else None)
    classes = int(getattr(objective, "num_classes", 0) or 0)
    labels = (np.arange(num) % classes).astype(np.int32) if classes else None
    fn = None
    if r["num_steps"] is not None and not sampling.iterative(objective):
        if r["sampler"] is not None:
            raise app.UsageError(f"--run={r['workdir']}@{r['sampler']}: a {family} run has no sampler "
                                 f"choice; give its steps as WORKDIR@:STEPS")
        fn = sampling.sampler_fn(objective, None, "trailing", labels is not None, num_steps=steps)
    images = sampling.generate(objective, state.ema_params, num=num, seed=seed, sampler=sampler,
                               num_steps=None if fn else steps, eta=r["eta"], labels=labels,
                               guidance=r["guidance"], batch_size=batch_size, fn=fn, on_batch=on_batch)
    spec = sampler or ("own sampler" if fn is None else f"own sampler, {steps} steps")
    if sampler and steps is not None and family != "vae":
        spec += f" {steps}"
    if r["eta"]:
        spec += f" η={r['eta']:g}"
    if r["guidance"] != 1.0:
        spec += f" w={r['guidance']:g}"
    return images, spec


def markdown(rows, meta, nets) -> str:
    table = bc.markdown_table(rows, [
        ("run", "label"), ("family", "family"), ("training steps", "step"), ("sampler", "sampler"),
        ("N", "num"), *bc.fid_columns(nets), ("precision", "precision", "{:.3f}"),
        ("recall", "recall", "{:.3f}"), ("class entropy", "class_entropy", "{:.3f}"),
        ("s / sample", "sec_per_sample", "{:.4f}")])
    floors = ", ".join(f"{meta['floors'][k]:.2f} ({k})" for k in meta["floors"])
    return table + (f"\n\n{meta['dataset']}; FID against {meta['num_real']} training images, "
                    f"precision/recall (k = 3) against as many of their feature rows as samples, "
                    f"class entropy = normalised entropy of the predicted classes, in "
                    f"{meta['feature_nets']}. Floor (N real test images): {floors}. Hardware: "
                    f"{meta['hardware']}.\n")


def main(argv):
    del argv
    from experiments import sampling
    from gen_jax.utils.images import save_grid

    runs = [parse_run(s) for s in _RUN.value]
    if _NUM.value <= 3:
        raise app.UsageError(f"--num must be > 3 (k-NN precision/recall), got {_NUM.value}")
    os.makedirs(_OUT.value, exist_ok=True)
    loaded = []
    for r in runs:
        if not os.path.isdir(r["workdir"]):
            raise app.UsageError(f"--run: no workdir {r['workdir']!r}")
        loaded.append(sampling.load_objective_and_params(r["workdir"]))
    dataset = loaded[0][0].data.name
    for r, (c, *_) in zip(runs, loaded):
        if c.data.name != dataset:
            raise app.UsageError(f"--run: {r['workdir']} was trained on {c.data.name!r}, the first run "
                                 f"on {dataset!r}; compare runs of one dataset")
    data_dir = _DATA_DIR.value or loaded[0][0].data.dir or None
    nets = bc.feature_nets(dataset, _NETS.value)
    net, first = next(iter(nets.values())), next(iter(nets))  # the usual keys
    refs, num_real = bc.references(nets, dataset, data_dir, _NUM.value, _NUM_REAL.value)
    test = bc.real_images(dataset, data_dir, "test", _NUM.value, seed=0)
    floors = {k: bc.fid_to(n, test, refs[k]) for k, n in nets.items()}
    meta = {"dataset": dataset, "num": _NUM.value, "num_real": num_real, "seed": _SEED.value,
            "feature_nets": bc.net_names(nets), "nets": list(nets), "floors": floors, **bc.run_info()}
    rows = []
    for k, (r, (c, objective, state, _)) in enumerate(zip(runs, loaded)):
        family = c.objective.name
        times = []
        images, spec = run_samples(r, c, objective, state, _NUM.value, _SEED.value, _BATCH.value,
                                   on_batch=lambda sec, bs: times.append((sec, bs)))
        warm = times[1:] or times  # the first batch compiles
        row = {"label": os.path.basename(os.path.normpath(r["workdir"])), "family": family,
               "workdir": r["workdir"], "step": int(np.asarray(state.step)), "sampler": spec,
               "num": len(images), **bc.scores(net, images, refs[first]), **bc.extra_fids(nets, images, refs),
               "sec_per_sample": sum(t for t, _ in warm) / sum(b for _, b in warm)}
        rows.append(row)
        save_grid(os.path.join(_OUT.value, f"samples_{k}.png"), images[:100], ncols=10)
        print(f"{row['label']} ({family}, {spec}): FID {row['fid']:.2f} precision {row['precision']:.3f} "
              f"recall {row['recall']:.3f}", flush=True)
        bc.write_results(_OUT.value, "results", {"meta": meta, "rows": rows}, markdown(rows, meta, nets))
    bc.write_results(_OUT.value, "results", {"meta": meta, "rows": rows}, markdown(rows, meta, nets),
                     echo=True)


def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other benches."""
    global _RUN, _NUM, _NUM_REAL, _BATCH, _SEED, _DATA_DIR, _OUT, _NETS
    _RUN = flags.DEFINE_multi_string("run", [], "WORKDIR[@SAMPLER[:STEPS][:eta=E][:guidance=W]] (repeatable).")
    _NUM = flags.DEFINE_integer("num", 10000, "Samples per run (and real test images of the floor).")
    _NUM_REAL = flags.DEFINE_integer("num_real", 0, "Training images of the reference (0: all).")
    _BATCH = flags.DEFINE_integer("batch_size", 500, "Samples per jitted call.")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the first run's config).")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_families", "Output directory.")
    _NETS = flags.DEFINE_list("feature_nets", [], bc.FEATURE_NETS_HELP)


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["run"])
    app.run(main)
