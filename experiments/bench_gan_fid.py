"""bench_gan --mode=stability and --mode=targets: models trained with several seeds, their final
EMA samples scored in the dataset's feature-net space; the two modes share their runs
(experiments/bench_gan.py says what they write)."""

from __future__ import annotations

import json
import os

import numpy as np

from experiments import bench_common as bc
from experiments import build
from experiments import train as main_lib
from experiments.bench_gan_common import (MNIST_CLASSES, MNIST_SHAPE, config_name, describe,
                                          load_config, root)

STABILITY_MODELS = ("dcgan", "wgan_gp", "ddpm")
TARGET_MODELS = ("dcgan", "wgan_gp", "stylegan2")


def final_sampler(c, objective):
    """sample(params, key, n) with the config's final sampler (diffusion) and labels cycling
    through the classes (conditional models), as experiments.main draws samples.png."""

    def sample(params, key, n):
        return objective.sample(params, key, n, **main_lib.final_sample_kwargs(c, objective, n))

    return sample


def _cells(out_dir: str, data_dir, seeds, steps, num: int, num_real: int, variant: str,
           progress: bool, models, channels: int, dataset: str, model_steps=None, ddpm_num: int = 0):
    """Train each model with each seed (workdir out_dir/stability/MODEL_seedS; a finished cell is
    read back, not retrained) and score its final EMA samples against the training images.
    Returns (cells, meta)."""
    from gen_jax.metrics.feature_nets import load_feature_net
    from gen_jax.train.evaluation import make_evaluator

    model_steps = dict(model_steps or {})  # entries for models not trained here are unused
    net = load_feature_net(dataset)
    c0 = load_config(models[0], variant, data_dir, dataset=dataset)
    ref, num_images = bc.training_reference(net, dataset, c0.data.dir or None, num, num_real)
    cells = []
    for model in models:
        n = ddpm_num if model == "ddpm" and ddpm_num else num
        for seed in seeds:
            c = load_config(model, variant, data_dir, channels, dataset,
                            steps=model_steps.get(model, steps))
            c.seed = int(seed)
            wd = os.path.join(out_dir, "stability", f"{model}_seed{seed}")
            path = os.path.join(wd, f"final_num{n}_real{num_images}.json")
            if os.path.exists(path):
                with open(path) as f:
                    cell = json.load(f)
                if cell["steps"] == c.train.steps and cell.get("channels") == c.model.channels:
                    cells.append(cell)
                    continue
            state = main_lib.run(c, wd, progress=progress)
            objective = build.objective(c, MNIST_SHAPE, MNIST_CLASSES)
            evaluate = make_evaluator(final_sampler(c, objective), net, ref, n, prefix="")
            cell = {"model": model, "seed": int(seed), "steps": c.train.steps, "num": n,
                    **describe(c),
                    **{k: v for k, v in evaluate(state.ema_params, c.train.steps).items()
                       if not k.startswith("class_share/")}}
            with open(path, "w") as f:
                json.dump(cell, f)
            cells.append(cell)
    meta = {"seeds": [int(s) for s in seeds], "num": num, "ddpm_num": ddpm_num or num,
            "num_real": int(num_images), "dataset": dataset, "feature_net": net.name,
            "variant": variant, **bc.run_info()}
    return cells, meta


def _table(mode: str, out_dir: str, data_dir, seeds, steps, num, num_real, variant, progress,
           models, channels, dataset, model_steps, ddpm_num) -> dict:
    out_dir = root(out_dir, dataset)
    cells, meta = _cells(out_dir, data_dir, seeds, steps, num, num_real, variant, progress,
                         models, channels, dataset, model_steps, ddpm_num)
    results = {"meta": meta, "summary": summarize(cells, models), "cells": cells}
    bc.write_results(out_dir, mode, results, MARKDOWN[mode](results))
    return results


def stability(out_dir: str, data_dir=None, seeds=(0, 1, 2), steps: int | None = None,
              num: int = 10000, num_real: int = 0, variant: str = "", progress: bool = True,
              models=STABILITY_MODELS, channels: int = 0, dataset: str = "mnist",
              model_steps=None, ddpm_num: int = 0) -> dict:
    return _table("stability", out_dir, data_dir, seeds, steps, num, num_real, variant, progress,
                  models, channels, dataset, model_steps, ddpm_num)


def targets(out_dir: str, data_dir=None, seeds=(0,), steps: int | None = None, num: int = 10000,
            num_real: int = 0, variant: str = "", progress: bool = True, models=TARGET_MODELS,
            channels: int = 0, dataset: str = "mnist", model_steps=None, ddpm_num: int = 0) -> dict:
    return _table("targets", out_dir, data_dir, seeds, steps, num, num_real, variant, progress,
                  models, channels, dataset, model_steps, ddpm_num)


def summarize(cells: list[dict], models) -> list[dict]:
    """Per model: FIDs over seeds, their mean, std (ddof=1; 0 for one seed) and spread (max − min),
    and the seeds' mean precision, recall and class coverage."""
    summary = []
    for model in models:
        mine = [x for x in cells if x["model"] == model]
        fids = np.array([x["fid"] for x in mine])
        summary.append({"model": model, "config": config_name(model),
                        "steps": mine[0]["steps"], "num": mine[0].get("num"),
                        "channels": mine[0].get("channels"), "fids": fids.tolist(),
                        "fid_mean": float(fids.mean()),
                        "fid_std": float(fids.std(ddof=1)) if len(fids) > 1 else 0.0,
                        "fid_spread": float(fids.max() - fids.min()),
                        **{k: float(np.mean([x[k] for x in mine]))
                           for k in ("precision", "recall", "class_coverage", "density",
                                     "prdc_coverage", "class_entropy") if k in mine[0]}})
    return summary


_RUN_COLUMNS = [("model", "model"), ("config", "config"), ("channels", "channels"),
                ("steps", "steps"), ("samples", "num")]


def stability_markdown(results) -> str:
    meta = results["meta"]
    table = bc.markdown_table(results["summary"], _RUN_COLUMNS + [
        ("FID per seed", "fids", lambda fs: ", ".join(f"{f:.2f}" for f in fs)),
        ("mean", "fid_mean", "{:.2f}"), ("std", "fid_std", "{:.2f}"),
        ("spread (max − min)", "fid_spread", "{:.2f}"), ("precision", "precision", "{:.3f}"),
        ("recall", "recall", "{:.3f}"), ("class coverage", "class_coverage", "{:.2f}")])
    return (f"{table}\n\nSeeds {meta['seeds']}; FID of the samples against {meta['num_real']} "
            f"{meta.get('dataset', 'mnist')} training images in the space of {meta['feature_net']} "
            f"(std over seeds, ddof=1); precision/recall/coverage are means over seeds. Hardware: "
            f"{meta['hardware']}.\n\n")


def targets_markdown(results) -> str:
    meta = results["meta"]
    table = bc.markdown_table(results["summary"], _RUN_COLUMNS + [
        ("FID", "fid_mean", "{:.2f}"), ("precision", "precision", "{:.3f}"),
        ("recall", "recall", "{:.3f}"), ("density", "density", "{:.3f}"),
        ("PRDC coverage", "prdc_coverage", "{:.3f}"), ("class coverage", "class_coverage", "{:.2f}"),
        ("class entropy", "class_entropy", "{:.3f}")])
    return (f"{table}\n\n{meta['dataset']}; means over seeds {meta['seeds']}; FID of the samples "
            f"against {meta['num_real']} training images, precision/recall/density/PRDC coverage "
            f"(k = 3) against as many real feature rows as samples, class coverage = fraction "
            f"of the 10 classes predicted at least once, class entropy = normalised entropy of "
            f"the predicted-class histogram, all in the space of {meta['feature_net']}. "
            f"Hardware: {meta['hardware']}.\n\n")


MARKDOWN = {"stability": stability_markdown, "targets": targets_markdown}
