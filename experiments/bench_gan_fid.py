"""bench_gan --mode=stability and --mode=targets: models trained with several seeds, their final
EMA samples scored in the dataset's feature-net space (feature_nets: several, on the same samples;
bench_common.feature_nets); the two modes share their runs (experiments/bench_gan.py says what
they write)."""

from __future__ import annotations

import json
import os

import numpy as np

from experiments import bench_common as bc
from experiments import build, sampling
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
           progress: bool, models, channels: int, dataset: str, model_steps=None, ddpm_num: int = 0,
           feature_nets=()):
    """Train each model with each seed (workdir out_dir/stability/MODEL_seedS; a finished cell is
    read back, not retrained) and score its final EMA samples against the training images, in
    every network of bench_common.feature_nets(dataset, feature_nets) (the first: the usual keys;
    the others: fid_NAME). Returns (cells, meta)."""
    from gen_jax.train.evaluation import make_sampler, score

    model_steps = dict(model_steps or {})  # entries for models not trained here are unused
    nets = bc.feature_nets(dataset, feature_nets)
    net = next(iter(nets.values()))
    c0 = load_config(models[0], variant, data_dir, dataset=dataset)
    refs, num_images = bc.references(nets, dataset, c0.data.dir or None, num, num_real)
    ref = refs[next(iter(nets))]
    cells = []
    for model in models:
        n = ddpm_num if model == "ddpm" and ddpm_num else num
        for seed in seeds:
            c = load_config(model, variant, data_dir, channels, dataset,
                            steps=model_steps.get(model, steps))
            c.seed = int(seed)
            wd = os.path.join(out_dir, "stability", f"{model}_seed{seed}")
            path = os.path.join(wd, f"final_num{n}_real{num_images}.json")
            trained = False
            if os.path.exists(path):
                with open(path) as f:
                    cell = json.load(f)
                trained = cell["steps"] == c.train.steps and cell.get("channels") == c.model.channels
                if trained and all(k in cell for k in bc.extra_fid_keys(nets)):
                    cells.append(cell)
                    continue
            if trained:  # scored before in fewer feature networks: its final checkpoint, again
                state = sampling.load_objective_and_params(wd)[2]
            else:
                state = main_lib.run(c, wd, progress=progress)
            objective = build.objective(c, MNIST_SHAPE, MNIST_CLASSES)
            images = make_sampler(final_sampler(c, objective), n)(state.ema_params)
            cell = {"model": model, "seed": int(seed), "steps": c.train.steps, "num": n,
                    **describe(c),
                    **{k: float(v) for k, v in score(net, images, ref).items()
                       if not k.startswith("class_share/")},
                    **bc.extra_fids(nets, images, refs)}
            with open(path, "w") as f:
                json.dump(cell, f)
            cells.append(cell)
    meta = {"seeds": [int(s) for s in seeds], "num": num, "ddpm_num": ddpm_num or num,
            "num_real": int(num_images), "dataset": dataset, "feature_net": bc.net_names(nets),
            "feature_nets": list(nets), "variant": variant, **bc.run_info()}
    return cells, meta


def _table(mode: str, out_dir: str, data_dir, seeds, steps, num, num_real, variant, progress,
           models, channels, dataset, model_steps, ddpm_num, feature_nets) -> dict:
    out_dir = root(out_dir, dataset)
    cells, meta = _cells(out_dir, data_dir, seeds, steps, num, num_real, variant, progress,
                         models, channels, dataset, model_steps, ddpm_num, feature_nets)
    results = {"meta": meta, "summary": summarize(cells, models, meta["feature_nets"]),
               "cells": cells}
    bc.write_results(out_dir, mode, results, MARKDOWN[mode](results))
    return results


def stability(out_dir: str, data_dir=None, seeds=(0, 1, 2), steps: int | None = None,
              num: int = 10000, num_real: int = 0, variant: str = "", progress: bool = True,
              models=STABILITY_MODELS, channels: int = 0, dataset: str = "mnist",
              model_steps=None, ddpm_num: int = 0, feature_nets=()) -> dict:
    return _table("stability", out_dir, data_dir, seeds, steps, num, num_real, variant, progress,
                  models, channels, dataset, model_steps, ddpm_num, feature_nets)


def targets(out_dir: str, data_dir=None, seeds=(0,), steps: int | None = None, num: int = 10000,
            num_real: int = 0, variant: str = "", progress: bool = True, models=TARGET_MODELS,
            channels: int = 0, dataset: str = "mnist", model_steps=None, ddpm_num: int = 0,
            feature_nets=()) -> dict:
    return _table("targets", out_dir, data_dir, seeds, steps, num, num_real, variant, progress,
                  models, channels, dataset, model_steps, ddpm_num, feature_nets)


def _fid_summary(fids, key: str = "fid") -> dict:
    fids = np.asarray(fids)
    per_seed = "fids" if key == "fid" else f"{key}_per_seed"
    return {per_seed: fids.tolist(), f"{key}_mean": float(fids.mean()),
            f"{key}_std": float(fids.std(ddof=1)) if len(fids) > 1 else 0.0,
            f"{key}_spread": float(fids.max() - fids.min())}


def summarize(cells: list[dict], models, feature_nets=()) -> list[dict]:
    """Per model: FIDs over seeds, their mean, std (ddof=1; 0 for one seed) and spread (max − min),
    and the seeds' mean precision, recall and class coverage; for each feature network after the
    first (fid_NAME in the cells), fid_NAME_per_seed, _mean, _std and _spread."""
    summary = []
    for model in models:
        mine = [x for x in cells if x["model"] == model]
        summary.append({"model": model, "config": config_name(model),
                        "steps": mine[0]["steps"], "num": mine[0].get("num"),
                        "channels": mine[0].get("channels"), **_fid_summary([x["fid"] for x in mine]),
                        **{k: v for key in bc.extra_fid_keys(feature_nets)
                           for k, v in _fid_summary([x[key] for x in mine], key).items()},
                        **{k: float(np.mean([x[k] for x in mine]))
                           for k in ("precision", "recall", "class_coverage", "density",
                                     "prdc_coverage", "class_entropy") if k in mine[0]}})
    return summary


_RUN_COLUMNS = [("model", "model"), ("config", "config"), ("channels", "channels"),
                ("steps", "steps"), ("samples", "num")]


def stability_markdown(results) -> str:
    meta = results["meta"]
    nets = meta.get("feature_nets") or [meta.get("dataset", "mnist")]
    per_net = []
    for i, name in enumerate(nets):
        key = "fid" if i == 0 else bc.fid_key(name)
        tag = f" ({name})" if len(nets) > 1 else ""
        per_net += [(f"FID per seed{tag}", "fids" if i == 0 else f"{key}_per_seed",
                     lambda fs: ", ".join(f"{f:.2f}" for f in fs)),
                    (f"mean{tag}", f"{key}_mean", "{:.2f}"), (f"std{tag}", f"{key}_std", "{:.2f}"),
                    (f"spread (max − min){tag}", f"{key}_spread", "{:.2f}")]
    table = bc.markdown_table(results["summary"], _RUN_COLUMNS + per_net + [
        ("precision", "precision", "{:.3f}"),
        ("recall", "recall", "{:.3f}"), ("class coverage", "class_coverage", "{:.2f}")])
    return (f"{table}\n\nSeeds {meta['seeds']}; FID of the samples against {meta['num_real']} "
            f"{meta.get('dataset', 'mnist')} training images in the space of {meta['feature_net']} "
            f"(std over seeds, ddof=1); precision/recall/coverage are means over seeds. Hardware: "
            f"{meta['hardware']}.\n\n")


def targets_markdown(results) -> str:
    meta = results["meta"]
    nets = meta.get("feature_nets") or [meta.get("dataset", "mnist")]
    table = bc.markdown_table(results["summary"], _RUN_COLUMNS + [
        *bc.fid_columns(nets, "fid_mean"), ("precision", "precision", "{:.3f}"),
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
