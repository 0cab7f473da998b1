"""Rectified flow on MNIST at CPU scale: logit-normal vs uniform training times, 1-RF vs 2-RF
(reflow) FID against Euler steps, and the straightness of 1-RF vs 2-RF.

python -m experiments.bench_rf --data_dir=../shared/data --out_dir=runs/bench_rf

Trains (experiments.train.run, config experiments/configs/reflow_mnist.py; finished workdirs are
reused, interrupted ones resume) into OUT_DIR/:
  rf1_logit_normal, rf1_uniform   1-RF, --steps steps each, the same budget and seed
  rf2                             2-RF: rf1_logit_normal's checkpoint fine-tuned --reflow_steps
                                  steps on --num_pairs (noise, sample) pairs of rf1_logit_normal
  rf1_control                     (--control) rf1_logit_normal fine-tuned --reflow_steps steps on
                                  the images: 1-RF with 2-RF's total budget
FID: --num_fid samples (Euler, per-sample keys fold_in(seed, i)) against --num_real training
images in the mnist_classifier feature space; --feature_nets=mnist,mnist_v1 adds the FID of the same
samples in every further network (results key MODEL/fid_mnist_v1/nfeN). Straightness (Liu et al.
2022 def. 2.3, mean over --num_straight noises, --straight_steps Euler steps). Writes results.json
and results.md; cells already in results.json are not recomputed.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments.configs import reflow_mnist


LABELS = {"rf1_logit_normal": "1-RF, logit-normal t", "rf1_uniform": "1-RF, uniform t",
          "rf2": "2-RF (reflow of 1-RF logit-normal)", "rf1_control": "1-RF logit-normal, + reflow budget on images"}


def _train(name: str, out: str, steps: int, time_sampling: str = "logit_normal", pairs: str = "",
           parent: str | None = None):
    from experiments.train import run
    from experiments.sampling import load_objective_and_params

    c = reflow_mnist.get_config("reflow" if pairs else "")
    c.data.dir = _DATA.value or ""
    c.data.pairs = pairs
    c.objective.time_sampling = time_sampling
    c.train.steps = steps
    workdir = os.path.join(out, name)
    if parent and not os.path.isdir(os.path.join(workdir, "checkpoints")):
        # fine-tune: start from the parent's checkpoint (the loop resumes from the latest one)
        shutil.copytree(os.path.join(parent, "checkpoints"), os.path.join(workdir, "checkpoints"))
    t0 = time.time()
    run(c, workdir, progress=False)
    print(f"bench_rf: {name} trained to step {steps} ({time.time() - t0:.0f} s this call)", flush=True)
    _, objective, state, _ = load_objective_and_params(workdir)
    return objective, state.ema_params, workdir


def _fid_fn(objective, nets, refs, num, seed):
    """fid(params, n) -> {results key suffix: FID} of num Euler samples in n steps: 'nfeN' in the
    first network, 'fid_NAME/nfeN' in each further one (the same samples)."""
    from gen_jax.utils.images import to_uint8

    sample = jax.jit(lambda p, keys, n: objective.sample(p, keys, sampler="rf_euler", num_steps=n))
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(seed), i))(jnp.arange(num))
    first = next(iter(nets))

    def fid(params, n):
        xs = [np.asarray(sample(params, keys[i:i + 500], jnp.int32(n))) for i in range(0, num, 500)]
        x = to_uint8(np.concatenate(xs))
        return {f"nfe{n}": bc.fid_to(nets[first], x, refs[first]),
                **{f"{k}/nfe{n}": v for k, v in bc.extra_fids(nets, x, refs).items()}}

    return fid


def _straightness(objective, params, num, steps, seed):
    from gen_jax.flow.reflow import straightness

    z = objective.noise(jax.random.PRNGKey(seed + 1), num)
    fn = jax.jit(lambda p, z: straightness(objective.velocity(p), z, steps))
    return float(np.mean(np.concatenate([np.asarray(fn(params, z[i:i + 250])) for i in range(0, num, 250)])))


def markdown(res, meta) -> str:
    names = [n for n in LABELS if any(k.startswith(n + "/") for k in res)]
    nfes = sorted({int(k.split("/nfe")[1]) for k in res if "/nfe" in k})
    nets = meta.get("feature_nets") or ["mnist"]
    tag = (lambda net: f" ({net})") if len(nets) > 1 else (lambda net: "")  # noqa: E731
    cols = [(LABELS[m] + tag(net), lambda r, m=m, i=i, net=net: res.get(
                f"{m}/nfe{r['nfe']}" if i == 0 else f"{m}/{bc.fid_key(net)}/nfe{r['nfe']}"), "{:.2f}")
            for m in names for i, net in enumerate(nets)]
    floors = ", ".join(f"{meta.get('floor_' + ('fid' if i == 0 else bc.fid_key(n)), float('nan')):.2f}"
                       + tag(n) for i, n in enumerate(nets))
    lines = [bc.markdown_table([{"nfe": n} for n in nfes], [("Euler steps (NFE)", "nfe")] + cols),
             "", bc.markdown_table([{"model": m} for m in names if f"{m}/straightness" in res], [
                 ("model", lambda r: LABELS[r["model"]]),
                 ("straightness S (mean over noises)", lambda r: res[f"{r['model']}/straightness"], "{:.4f}"),
                 ("training steps", lambda r: res.get(f"{r['model']}/steps"))], missing=""), ""]
    lines.append(f"FID of {meta['num_fid']} samples against {meta['num_real']} MNIST training images in "
                 f"the feature space of {meta.get('feature_net', 'mnist_classifier')} (not Inception: "
                 f"values are not comparable to published FIDs); real-vs-real floor (test split, "
                 f"{meta['num_fid']} images): {floors}. Straightness: {meta['num_straight']} "
                 f"noises, {meta['straight_steps']} Euler steps. 2-RF: {meta['num_pairs']} pairs from "
                 f"1-RF ({meta['pair_sampler']}, {meta['pair_steps']} steps). Hardware: "
                 f"{meta['hardware']}. Command: `{meta['command']}`.")
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from gen_jax.data.pairs import save_pairs
    from gen_jax.flow.reflow import generate_pairs
    out = _OUT.value
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "results.json")
    res = json.load(open(path)) if os.path.exists(path) else {}
    meta = {"num_fid": _NUM_FID.value, "num_real": _NUM_REAL.value, "num_pairs": _PAIRS.value,
            "pair_sampler": _PAIR_SAMPLER.value, "pair_steps": _PAIR_STEPS.value,
            "num_straight": _NUM_STRAIGHT.value, "straight_steps": _STRAIGHT_STEPS.value,
            **bc.run_info()}

    def save():
        res["meta"] = meta
        bc.write_results(out, "results", res, markdown(res, meta))

    nets = bc.feature_nets("mnist", _NETS.value)
    net = next(iter(nets.values()))
    refs, _ = bc.references(nets, "mnist", _DATA.value, _NUM_FID.value, _NUM_REAL.value)
    ref = refs[next(iter(nets))]
    test = bc.real_images("mnist", _DATA.value, "test", _NUM_FID.value, seed=None)
    meta.update(feature_net=bc.net_names(nets), feature_nets=list(nets),
                floor_fid=bc.fid_to(net, test, ref), **bc.extra_fids(nets, test, refs, "floor_"))
    nfes = [int(n) for n in _NFE.value]

    def score(name, objective, params, steps):
        res[f"{name}/steps"] = steps
        fid = None
        for n in nfes:
            keys = [f"{name}/nfe{n}"] + [f"{name}/{k}/nfe{n}" for k in bc.extra_fid_keys(nets)]
            if not all(k in res for k in keys):
                fid = fid or _fid_fn(objective, nets, refs, _NUM_FID.value, _SEED.value)
                res.update({f"{name}/{k}": v for k, v in fid(params, n).items()})
                print(f"bench_rf: {name} Euler {n}: FID " + ", ".join(f"{res[k]:.2f}" for k in keys),
                      flush=True)
                save()
        if f"{name}/straightness" not in res:
            res[f"{name}/straightness"] = _straightness(objective, params, _NUM_STRAIGHT.value,
                                                        _STRAIGHT_STEPS.value, _SEED.value)
            print(f"bench_rf: {name} straightness {res[f'{name}/straightness']:.4f}", flush=True)
            save()

    obj1, p1, wd1 = _train("rf1_logit_normal", out, _STEPS.value)
    score("rf1_logit_normal", obj1, p1, _STEPS.value)
    pairs = os.path.join(out, "rf1_pairs.npz")
    if not os.path.exists(pairs):
        z, x, labels = generate_pairs(obj1, p1, _PAIRS.value, sampler=_PAIR_SAMPLER.value,
                                      num_steps=_PAIR_STEPS.value, seed=_SEED.value + 100)
        save_pairs(pairs, z, x, labels, "mnist", None)
    total = _STEPS.value + _REFLOW_STEPS.value
    obj2, p2, _ = _train("rf2", out, total, time_sampling="uniform", pairs=os.path.abspath(pairs), parent=wd1)
    score("rf2", obj2, p2, total)
    obj_u, p_u, _ = _train("rf1_uniform", out, _STEPS.value, time_sampling="uniform")
    score("rf1_uniform", obj_u, p_u, _STEPS.value)
    if _CONTROL.value:
        obj_c, p_c, _ = _train("rf1_control", out, total, parent=wd1)
        score("rf1_control", obj_c, p_c, total)
    save()
    print(open(os.path.join(out, "results.md")).read())


def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other benches that define flags of the same names."""
    global _DATA, _OUT, _STEPS, _REFLOW_STEPS, _PAIRS, _PAIR_SAMPLER, _PAIR_STEPS, _NFE, _NUM_FID
    global _NUM_REAL, _NUM_STRAIGHT, _STRAIGHT_STEPS, _CONTROL, _SEED, _NETS
    _DATA = flags.DEFINE_string("data_dir", None, "Data directory holding mnist/.")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_rf", "Workdirs and results go here.")
    _STEPS = flags.DEFINE_integer("steps", 1200, "1-RF training steps.")
    _REFLOW_STEPS = flags.DEFINE_integer("reflow_steps", 1200, "2-RF fine-tuning steps.")
    _PAIRS = flags.DEFINE_integer("num_pairs", 5000, "Reflow pairs drawn from 1-RF.")
    _PAIR_SAMPLER = flags.DEFINE_string("pair_sampler", "rf_heun", "ODE solver for the pairs: rf_euler | rf_heun.")
    _PAIR_STEPS = flags.DEFINE_integer("pair_steps", 10, "Solver steps per pair.")
    _NFE = flags.DEFINE_list("nfe", ["1", "2", "4", "10", "50"], "Euler step counts for FID.")
    _NUM_FID = flags.DEFINE_integer("num_fid", 1000, "Samples per FID cell.")
    _NUM_REAL = flags.DEFINE_integer("num_real", 10000, "Training images in the FID reference.")
    _NUM_STRAIGHT = flags.DEFINE_integer("num_straight", 500, "Noises for the straightness.")
    _STRAIGHT_STEPS = flags.DEFINE_integer("straight_steps", 50, "Euler steps for the straightness.")
    _CONTROL = flags.DEFINE_bool("control", True, "Also train and score the 1-RF control.")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
    _NETS = flags.DEFINE_list("feature_nets", [], bc.FEATURE_NETS_HELP)


if __name__ == "__main__":
    define_flags()
    app.run(main)
