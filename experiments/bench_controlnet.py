"""Do ControlNet samples follow the given edges? Measured on MNIST.

python -m experiments.bench_controlnet --data_dir=../shared/data --out_dir=runs/bench_controlnet

Trains (or resumes; a finished run is not trained again) the base model
(configs/controlnet_mnist.py:base) in OUT/base and the ControlNet on it (configs/controlnet_mnist.py)
in OUT/controlnet. Then the Sobel edge map of test image i (i < --num) is the condition of sample i,
and the edge map of each sample (the same operator and threshold) is scored against it: boundary F1
with a 1-pixel tolerance and IoU (gen_jax/metrics/edge_agreement.py), for
  controlnet   the ControlNet samples,
  base         the base model's samples from the same noise (it ignores the condition),
  other_digit  the real test image i + num (the agreement of two unrelated real digits),
and the share of samples that the MNIST classifier (gen_jax/metrics/weights) labels as the digit of
the condition's image. Writes controlnet.json, controlnet.md and controlnet.png (rows: test image |
its edge map = the condition | 4 ControlNet samples | the base sample) to --figure_dir (default
OUT). --variant=smoke: the configs' smoke variants on the embedded digits (for tests).
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments import main as main_lib
from experiments.configs import controlnet_mnist
from experiments.sampling import load_objective_and_params, sample_keys
from gen_jax.data import load_dataset
from gen_jax.metrics.edge_agreement import edge_f1, iou
from gen_jax.utils.images import save_grid, to_uint8



def configs(variant: str, data_dir, base_steps, steps, out_dir):
    """(base config, ControlNet config) with the bench's overrides."""
    smoke = variant == "smoke"
    cb = controlnet_mnist.get_config("base_smoke" if smoke else "base")
    cc = controlnet_mnist.get_config("smoke" if smoke else "")
    for c in (cb, cc):
        if smoke:
            c.data.name = "digits"
        if data_dir:
            c.data.dir = data_dir
    if base_steps:
        cb.train.steps = base_steps
    if steps:
        cc.train.steps = steps
    cc.objective.base_workdir = os.path.join(out_dir, "base")
    return cb, cc


def _mean_se(v) -> dict:
    v = np.asarray(v, np.float64)
    return {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0}


def sampler(objective, opts: dict):
    """A jitted (params, keys [B, 2], hint [B, H, W, Ch]) -> (ControlNet samples, base samples from
    the same noise), both [B, H, W, C]."""

    @jax.jit
    def both(params, keys, hint):
        x = objective.sample(params, keys, hint=hint, **opts)
        x_base = objective.base.sample(params["base"], keys, **opts)
        return x, x_base

    return both


def _sample(both, params, hint, seed: int, batch_size: int):
    """Sample i from key fold_in(seed, i) on hint[i], in batches of batch_size (the last one padded,
    so one compilation serves every call)."""
    n = len(hint)
    xs, bs = [], []
    for s in range(0, n, batch_size):
        idx = np.minimum(np.arange(s, s + batch_size), n - 1)
        keys = sample_keys(seed, s, batch_size)
        x, xb = both(params, jnp.asarray(keys), jnp.asarray(hint[idx]))
        xs.append(np.asarray(x)[: n - s])
        bs.append(np.asarray(xb)[: n - s])
    return np.concatenate(xs), np.concatenate(bs)


def evaluate(objective, both, params, images, labels, num: int, seed: int, batch_size: int,
             classifier=None) -> dict:
    """Scores of ControlNet samples, base samples (same noise) and unrelated real digits against the
    edge maps of images[:num] (images[num:2num] are the unrelated digits)."""
    cond = np.asarray(objective.hint(jnp.asarray(images[:num])))
    samples, base = _sample(both, params, cond, seed, batch_size)
    other = images[num:2 * num]
    scores = {}
    for name, x in (("controlnet", samples), ("base", base), ("other_digit", other)):
        edges = objective.hint(jnp.asarray(x))
        scores[name] = {"edge_f1_tol1": _mean_se(edge_f1(edges, cond, tolerance=1)[2]),
                        "edge_iou": _mean_se(iou(edges, cond))}
        if classifier is not None:
            from gen_jax.metrics.feature_nets import predict_labels

            same = predict_labels(classifier, x) == labels[:num]
            scores[name]["same_digit"] = _mean_se(same.astype(np.float64))
    return scores


def figure(path, objective, both, params, images, rows: int, seed: int, batch_size: int,
           per_row: int = 4):
    """Rows: test image | its condition map | per_row ControlNet samples | the base sample from the
    noise of the first of them (seed + 1)."""
    cond = np.asarray(objective.hint(jnp.asarray(images[:rows])))
    x, xb = _sample(both, params, np.repeat(cond, per_row, axis=0), seed + 1, batch_size)
    c = images.shape[-1]
    tiles = []
    for r in range(rows):
        tiles += [images[r], np.broadcast_to(cond[r] * 2 - 1, images[r].shape[:2] + (c,)),
                  *x[r * per_row:(r + 1) * per_row], xb[r * per_row]]
    return save_grid(path, to_uint8(np.stack(tiles)), ncols=per_row + 3)


def markdown(result: dict) -> str:
    s = result["scores"]
    cols = ["edge_f1_tol1", "edge_iou"] + (["same_digit"] if "same_digit" in s["controlnet"] else [])
    lines = [f"ControlNet on MNIST: agreement of the samples' Sobel edges with the condition (the "
             f"edges of test image i), {result['num']} conditions, one sample each "
             f"({result['sampler']}); mean ± standard error.", "",
             bc.markdown_table(
                 [{"samples": name, **s[k]} for k, name in (
                     ("controlnet", "ControlNet"), ("base", "base model (ignores the condition)"),
                     ("other_digit", "another real test digit"))],
                 [("samples", "samples")] + [(m, m, lambda v: f"{v['mean']:.3f} ± {v['se']:.3f}")
                                             for m in cols])]
    lines += ["", f"Base: {result['base_steps']} steps; ControlNet: {result['controlnet_steps']} "
              f"steps; {result['hardware']}; wall time {result['wall_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def run(variant: str, out_dir: str, figure_dir: str | None = None, data_dir=None, base_steps=None,
        steps=None, num: int = 200, rows: int = 8, seed: int = 0, batch_size: int = 100) -> dict:
    t0 = time.time()
    figure_dir = figure_dir or out_dir
    cb, cc = configs(variant, data_dir, base_steps, steps, out_dir)
    main_lib.run(cb, os.path.join(out_dir, "base"), progress=False)
    main_lib.run(cc, os.path.join(out_dir, "controlnet"), progress=False)
    _, objective, state, _ = load_objective_and_params(os.path.join(out_dir, "controlnet"))
    test = load_dataset(cc.data.name, cc.data.dir or None, "test")
    if len(test.images) < 2 * num:
        raise ValueError(f"--num={num}: needs {2 * num} test images, the split has {len(test.images)}")
    classifier = None
    if variant != "smoke":
        from gen_jax.metrics.feature_nets import load_feature_net

        classifier = load_feature_net(cc.data.name)
    both = sampler(objective, dict(sampler=cc.sampler.name, num_steps=cc.sampler.num_steps))
    scores = evaluate(objective, both, state.ema_params, test.images, test.labels, num, seed,
                      batch_size, classifier)
    os.makedirs(figure_dir, exist_ok=True)
    png = figure(os.path.join(figure_dir, "controlnet.png"), objective, both, state.ema_params,
                 test.images, rows, seed, batch_size)
    result = {"scores": scores, "num": num, "seed": seed, "base_steps": cb.train.steps,
              "controlnet_steps": cc.train.steps, "condition": cc.objective.condition,
              "edge_threshold": cc.objective.edge_threshold,
              "sampler": f"{cc.sampler.name}, {cc.sampler.num_steps} steps",
              "wall_s": time.time() - t0, "figure": os.path.basename(png), **bc.run_info()}
    bc.write_results(figure_dir, "controlnet", result, markdown(result))
    return result


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    r = run(_VARIANT.value, _OUT.value, _FIG.value, _DATA_DIR.value, _BASE_STEPS.value, _STEPS.value,
            _NUM.value, _ROWS.value, _SEED.value, _BATCH.value)
    print(markdown(r))


def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other benches that define flags of the same names."""
    global _OUT, _FIG, _DATA_DIR, _VARIANT, _BASE_STEPS, _STEPS, _NUM, _ROWS, _SEED, _BATCH
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_controlnet", "Directory for the two workdirs.")
    _FIG = flags.DEFINE_string("figure_dir", None, "Where the JSON, Markdown and PNG go (default: out_dir).")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the configs').")
    _VARIANT = flags.DEFINE_enum("variant", "", ["", "smoke"], "smoke: tiny configs on digits.")
    _BASE_STEPS = flags.DEFINE_integer("base_steps", None, "Base training steps (default: config's).")
    _STEPS = flags.DEFINE_integer("steps", None, "ControlNet training steps (default: config's).")
    _NUM = flags.DEFINE_integer("num", 200, "Conditions (test images) scored, one sample each.")
    _ROWS = flags.DEFINE_integer("rows", 8, "Rows of the PNG grid.")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
    _BATCH = flags.DEFINE_integer("batch_size", 100, "Samples per call.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
