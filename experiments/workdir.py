"""A run's record in its workdir (run.json): what experiments.sample needs to rebuild the
objective, and the migration of runs saved by earlier versions."""

from __future__ import annotations

import json
import os

import jax
import ml_collections


def save_run_info(workdir: str, c: ml_collections.ConfigDict, image_shape, num_classes, class_names=None):
    if jax.process_index() != 0:
        return
    os.makedirs(workdir, exist_ok=True)
    info = {"config": json.loads(c.to_json()), "image_shape": list(image_shape),
            "num_classes": num_classes, "class_names": list(class_names) if class_names else None}
    with open(os.path.join(workdir, "run.json"), "w") as f:
        json.dump(info, f, indent=1)


# Runs of the flow family written before the one sampler registry named the flow's ODE solvers
# "euler" / "heun"; those names now mean the Karras σ-space samplers of every family.
_FLOW_SAMPLER_NAMES = {"euler": "rf_euler", "heun": "rf_heun"}


def _is_flow_run(c: ml_collections.ConfigDict, workdir: str) -> bool:
    o = c.objective
    if o.name in ("rectified_flow", "text_rf") or o.get("base") == "rectified_flow":
        return True
    if o.name == "controlnet" and o.get("base_workdir"):
        base = os.path.join(o.base_workdir, "run.json")
        if os.path.exists(base):
            with open(base) as f:
                return json.load(f)["config"]["objective"]["name"] == "rectified_flow"
    return False


def _migrate_sampler_name(c: ml_collections.ConfigDict, workdir: str) -> None:
    if c.sampler.get("name") in _FLOW_SAMPLER_NAMES and _is_flow_run(c, workdir):
        c.sampler.name = _FLOW_SAMPLER_NAMES[c.sampler.name]


def load_run_info(workdir: str):
    path = os.path.join(workdir, "run.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: --workdir must be a directory written by "
                                f"experiments.main (it holds run.json and checkpoints/)")
    with open(path) as f:
        info = json.load(f)
    c = ml_collections.ConfigDict(info["config"])
    _migrate_sampler_name(c, workdir)
    # JSON turns tuples into lists; the network wants tuples.
    for k in ("channel_mult", "attention_resolutions"):
        c.model[k] = tuple(c.model[k])
    return c, tuple(info["image_shape"]), info["num_classes"], info.get("class_names")
