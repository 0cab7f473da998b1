"""Few-step students against their teacher: FID, precision/recall/coverage at 1, 2, 4 steps.

python -m experiments.bench_distill --teacher_workdir=runs/mnist --pd_workdir=runs/pd_mnist \
    --cd_workdir=runs/cd_mnist --num=1000 --data_dir=../shared/data --out_dir=runs/bench_distill

Rows: the teacher's own deterministic sampler (DDIM η = 0 for ddpm, Euler for rectified flow) at
--teacher_steps; every round of a progressive run (the checkpoint at the end of round r holds the
N/2^(r+1)-step student); a consistency run at --cd_steps. Metrics (gen_jax.train.evaluation.score)
in the dataset's feature-network space against --num_real training images (FID of --num samples:
biased upward for small --num, so compare rows of one table only); --feature_nets=mnist,mnist_v1
adds the FID of the same samples in every further network (fid_mnist_v1) and its own target line.
Writes results.json and results.md in --out_dir; finished cells (cells/*.json) are not recomputed
on rerun. The target of issue 6: the best 1-step student's FID <= 1.5 x the teacher's FID at its
largest step count.
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments import sampling
from gen_jax.train import checkpoint


def rows_to_markdown(rows, meta) -> str:
    nets = meta.get("feature_nets") or [meta["data"]]
    table = bc.markdown_table(rows, [
        ("model", "model"), ("sampler", "sampler"), ("steps (NFE)", "steps"),
        *bc.fid_columns(nets), ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}"),
        ("coverage", "prdc_coverage", "{:.3f}"), ("class entropy", "class_entropy", "{:.3f}")])
    verdicts = []
    for name, t in zip(nets, [meta["target"], *(meta.get("targets") or {}).values()]):
        verdicts.append(("no 1-step student" if t["best_1step_fid"] is None else
                         f"best 1-step student FID {t['best_1step_fid']:.2f} ({t['best_1step_model']}) "
                         f"vs teacher {t['teacher_steps']}-step FID {t['teacher_fid']:.2f}: ratio "
                         f"{t['ratio']:.2f} (target <= 1.5: {'met' if t['met'] else 'not met'})")
                        + (f" [{name} features]" if len(nets) > 1 else "") + ".")
    verdict = "\n".join(verdicts)
    return (table + f"\n\n{verdict}\n\n{meta['num']} samples per row; features: "
            f"{meta['feature_net']}; reference: {meta['data']} train split ({meta['num_real']} "
            f"images); hardware: {meta['hardware']}.\n")


def target(rows, key: str = "fid"):
    """The issue-6 target on the FID under key (fid, or fid_NAME of another feature network)."""
    teacher = [r for r in rows if r["model"] == "teacher"]
    best_t = max(teacher, key=lambda r: r["steps"]) if teacher else None
    ones = [r for r in rows if r["model"] != "teacher" and r["steps"] == 1]
    best = min(ones, key=lambda r: r[key]) if ones else None
    out = {"teacher_steps": best_t and best_t["steps"], "teacher_fid": best_t and best_t[key],
           "best_1step_fid": best and best[key], "best_1step_model": best and best["model"]}
    out["ratio"] = best[key] / best_t[key] if best and best_t else None
    out["met"] = bool(out["ratio"] is not None and out["ratio"] <= 1.5)
    return out


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    out_dir = _OUT.value or os.path.join(_TEACHER.value, "bench_distill")
    os.makedirs(os.path.join(out_dir, "cells"), exist_ok=True)
    c, teacher, t_state, _ = sampling.load_objective_and_params(_TEACHER.value)
    nets = bc.feature_nets(c.data.name, _NETS.value)
    net = next(iter(nets.values()))
    data_dir = _DATA_DIR.value or c.data.dir or None
    print("reference statistics ...")
    refs, _ = bc.references(nets, c.data.name, data_dir, _NUM.value, _NUM_REAL.value, seed=None)
    ref = refs[next(iter(nets))]
    labels = (np.arange(_NUM.value) % teacher.num_classes).astype(np.int32) if teacher.num_classes else None
    rows = []

    fns = {}  # one jitted sampler per objective: step counts are runtime values

    def cell(name, model, objective, params, sampler, steps):
        path = os.path.join(out_dir, "cells", f"{name}_steps{steps}_num{_NUM.value}_seed{_SEED.value}.json")
        if os.path.exists(path):
            with open(path) as f:
                row = json.load(f)
            if all(k in row for k in bc.extra_fid_keys(nets)):  # else: score the samples again
                rows.append(row)
                return
        if id(objective) not in fns:
            fns[id(objective)] = sampling.sampler_fn(objective, sampler, conditional=labels is not None)
        images = sampling.generate(objective, params, num=_NUM.value, seed=_SEED.value, sampler=sampler,
                                   num_steps=steps, labels=labels, batch_size=_BATCH.value,
                                   fn=fns[id(objective)])
        row = {"model": model, "sampler": sampler, "steps": steps, **bc.scores(net, images, ref),
               **bc.extra_fids(nets, images, refs)}
        print(row, flush=True)
        with open(path, "w") as f:
            json.dump(row, f)
        rows.append(row)

    t_sampler = "rf_euler" if teacher.native_view == "rf" else "ddim"
    for n in map(int, _TEACHER_STEPS.value):
        cell("teacher", "teacher", teacher, t_state.ema_params, t_sampler, n)
    for wd in _PD.value:
        mngr = checkpoint.manager(os.path.join(wd, "checkpoints"))
        _, pd, _, _ = sampling.load_objective_and_params(wd)
        ends = [(r + 1) * pd.steps_per_round for r in range(pd.rounds)]
        missing = [s for s in ends if s not in mngr.all_steps()]
        if missing:
            raise app.UsageError(f"--pd_workdir {wd}: no checkpoint at the end of rounds {missing} "
                                 f"(train.ckpt_every must divide the steps per round, and "
                                 f"train.keep_checkpoints cover every round)")
        for step in ends:  # one objective (one compilation) for every round's parameters
            state = sampling.load_objective_and_params(wd, step)[2]
            tag = os.path.basename(os.path.normpath(wd))
            cell(f"pd_{tag}_{step}", f"progressive ({tag}, step {step})", pd, state.ema_params,
                 pd.student_sampler, pd.student_steps_at(step))
    for wd in _CD.value:
        _, student, state, _ = sampling.load_objective_and_params(wd)
        for n in map(int, _CD_STEPS.value):
            cell(f"cd_{os.path.basename(os.path.normpath(wd))}", f"consistency ({os.path.basename(os.path.normpath(wd))})",
                 student, state.ema_params, "consistency", n)

    meta = {"num": _NUM.value, "num_real": _NUM_REAL.value, "feature_net": bc.net_names(nets),
            "feature_nets": list(nets), "data": c.data.name, "teacher_workdir": _TEACHER.value,
            "pd_workdirs": _PD.value, "cd_workdirs": _CD.value, "target": target(rows),
            "targets": {name: target(rows, key)  # the other networks' FIDs
                        for name, key in zip(list(nets)[1:], bc.extra_fid_keys(nets))},
            **bc.run_info()}
    if _HW.value:
        meta["hardware"] = _HW.value
    bc.write_results(out_dir, "results", {"meta": meta, "rows": rows}, rows_to_markdown(rows, meta),
                     echo=True)


def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other benches that define flags of the same names."""
    global _TEACHER, _PD, _CD, _TEACHER_STEPS, _CD_STEPS, _NUM, _NUM_REAL, _BATCH, _SEED
    global _DATA_DIR, _OUT, _HW, _NETS
    _TEACHER = flags.DEFINE_string("teacher_workdir", None, "The teacher's workdir (ddpm / rectified_flow).")
    _PD = flags.DEFINE_list("pd_workdir", [], "Progressive-distillation workdirs (every round is a row).")
    _CD = flags.DEFINE_list("cd_workdir", [], "Consistency-distillation workdirs.")
    _TEACHER_STEPS = flags.DEFINE_list("teacher_steps", ["1", "2", "4", "50"], "Teacher sampler steps.")
    _CD_STEPS = flags.DEFINE_list("cd_steps", ["1", "2", "4"], "Consistency sampling steps.")
    _NUM = flags.DEFINE_integer("num", 1000, "Samples per row.")
    _NUM_REAL = flags.DEFINE_integer("num_real", 10000, "Training images of the reference statistics.")
    _BATCH = flags.DEFINE_integer("batch_size", 500, "Samples per device call.")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed (sample i uses fold_in(seed, i)).")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the teacher's config).")
    _OUT = flags.DEFINE_string("out_dir", None, "Output directory (default TEACHER_WORKDIR/bench_distill).")
    _HW = flags.DEFINE_string("hardware", "", "Hardware note for the table (default: the devices, "
                              "bench_common.hardware()).")
    _NETS = flags.DEFINE_list("feature_nets", [], bc.FEATURE_NETS_HELP)
    flags.mark_flags_as_required(["teacher_workdir"])


if __name__ == "__main__":
    define_flags()
    app.run(main)
