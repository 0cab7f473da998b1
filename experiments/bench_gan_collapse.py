"""bench_gan --mode=collapse: a healthy DCGAN against a collapsing GAN, the training loop's
evaluation (class coverage, precision/recall, FID) over the steps (experiments/bench_gan.py says
what it writes)."""

from __future__ import annotations

import os

import numpy as np

from experiments import bench_common as bc
from experiments import train as main_lib
from experiments.bench_gan_common import (MNIST_CLASSES, config_name, describe, eval_curve,
                                          feature_net_name, load_config, root)
from gen_jax.train.logging import read_metrics

COLLAPSE_RUNS = {"healthy": "dcgan", "collapse": "collapse"}


def collapse(out_dir: str, data_dir=None, steps: int = 800, eval_every: int = 100,
             eval_samples: int = 1000, variant: str = "", progress: bool = True,
             channels: int = 0, dataset: str = "mnist") -> dict:
    runs = {}
    out_dir = root(out_dir, dataset)
    for run_name, cfg in COLLAPSE_RUNS.items():
        c = load_config(cfg, variant, data_dir, channels, dataset, steps=steps, eval_every=eval_every,
                        eval_samples=eval_samples, sample_every=eval_every)
        wd = os.path.join(out_dir, "collapse", run_name)
        main_lib.run(c, wd, progress=progress)
        sps = [m["steps_per_sec"] for m in read_metrics(os.path.join(wd, "logs")) if "steps_per_sec" in m]
        runs[run_name] = {"config": config_name(cfg),
                          **describe(c), "workdir": wd, "steps": steps,
                          "steps_per_sec": float(np.median(sps)) if sps else None,
                          "curve": eval_curve(wd)}
    meta = {"eval_every": eval_every, "eval_samples": eval_samples, "variant": variant,
            "dataset": dataset, "feature_net": feature_net_name(dataset), **bc.run_info()}
    results = {"meta": meta, "runs": runs}
    bc.write_results(out_dir, "collapse", results, collapse_markdown(results))
    collapse_plot(results, os.path.join(out_dir, "collapse.png"))
    return results


def collapse_markdown(results) -> str:
    runs, meta = results["runs"], results["meta"]
    rows = [{"run": name, **r, **r["curve"][-1]} for name, r in runs.items()]
    table = bc.markdown_table(rows, [
        ("run", "run"), ("config", "config"), ("channels", "channels"), ("loss", "loss"),
        ("n_critic", "n_critic"), ("lr G / D", lambda r: f"{r['lr']:g} / {r.get('d_lr', r['lr']):g}"),
        ("steps", "step"), ("class coverage", "class_coverage", "{:.2f}"),
        ("class entropy", "class_entropy", "{:.3f}"), ("precision", "precision", "{:.3f}"),
        ("recall", "recall", "{:.3f}"), ("density", "density", "{:.3f}"),
        ("PRDC coverage", "prdc_coverage", "{:.3f}"),
        (f"FID ({meta['eval_samples']} samples)", "fid", "{:.2f}")])
    k = len(rows[0]["class_share"])
    shares = bc.markdown_table(rows, [("run", "run")] + [
        (str(i), lambda r, i=i: r["class_share"][i], lambda s: f"{100 * s:.0f}") for i in range(k)])
    return (f"{table}\n\nShare of the final samples per predicted class (%):\n\n{shares}\n\n"
            f"Evaluated every {meta['eval_every']} steps on {meta['eval_samples']} EMA-generator "
            f"samples (the same latents each time) in the space of {meta['feature_net']}; class "
            f"coverage = fraction of the 10 classes predicted at least once; precision, recall, "
            f"density and PRDC coverage with k = 3 against {meta['eval_samples']} real images "
            f"(PRDC coverage resists the real outliers whose large balls can make precision "
            f"and density high even for noise); FID from "
            f"{meta['eval_samples']} samples is biased upward (compare runs, not papers). "
            f"Hardware: {meta['hardware']}.\n\n")


def collapse_plot(results, path: str) -> None:
    fig, axes = bc.subplots(3, figsize=(14, 3.8))
    for (name, r), color in zip(results["runs"].items(), ("tab:blue", "tab:red")):
        steps = [p["step"] for p in r["curve"]]
        for ax, solid, dashed in ((axes[0], ("class_coverage", "classes hit"), ("class_entropy", "entropy")),
                                  (axes[1], ("recall", "recall"), ("precision", "precision"))):
            ax.plot(steps, [p[solid[0]] for p in r["curve"]], "o-", color=color, label=f"{name}: {solid[1]}")
            ax.plot(steps, [p[dashed[0]] for p in r["curve"]], "--", color=color, label=f"{name}: {dashed[1]}")
        share = r["curve"][-1]["class_share"]
        width = 0.4
        offset = -width / 2 if color == "tab:blue" else width / 2
        axes[2].bar(np.arange(len(share)) + offset, share, width, color=color, label=name)
    axes[0].set(xlabel="step", ylabel="class coverage / normalised entropy", ylim=(-0.02, 1.05),
                title="class coverage")
    axes[1].set(xlabel="step", ylabel="precision / recall", ylim=(-0.02, 1.05), title="precision and recall")
    axes[2].set(xlabel="predicted class", ylabel="share of samples", title="final class histogram",
                xticks=range(MNIST_CLASSES))
    bc.save_figure(fig, path, dpi=110)
