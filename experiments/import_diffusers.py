"""Import a diffusers checkpoint folder as a gen_jax workdir (run.json + an orbax checkpoint), which
experiments.sample, experiments.bench_samplers, experiments.likelihood and the notebooks then use
like a trained run. Nothing is downloaded: fetch the folder first (docs/pretrained.md).

python -m experiments.import_diffusers --src=ddpm-cifar10-32 --workdir=runs/ddpm_cifar10_32
python -m experiments.sample --workdir=runs/ddpm_cifar10_32 --sampler=ddim --steps=50 --spacing=leading

--src: a pipeline folder (model_index.json, unet/, scheduler/) or a model folder (config.json +
diffusion_pytorch_model.safetensors; then --scheduler names its scheduler_config.json, else
DDPM's linear schedule with ε prediction is assumed).
"""

from __future__ import annotations

import os

import jax
import numpy as np
from absl import app, flags, logging

from experiments import build
from experiments.config_types import UNET_IMPORT_OPTIONS
from experiments.workdir import save_run_info
from experiments.configs import common
from gen_jax.interop import load_diffusers
from gen_jax.interop.folder import InteropError
from gen_jax.interop.scheduler import read_scheduler, scheduler_from_config
from gen_jax.train import checkpoint
from gen_jax.train.state import TrainState

# a model folder's class -> the pipeline subfolder holding it
SUBFOLDERS = ("unet", "transformer")


def _model_dir(src: str) -> str:
    if os.path.exists(os.path.join(src, "model_index.json")):
        for sub in SUBFOLDERS:
            if os.path.exists(os.path.join(src, sub, "config.json")):
                return os.path.join(src, sub)
        raise InteropError(f"{src}: a pipeline folder without any of the model subfolders {SUBFOLDERS}")
    return src


def run_config(model, image_shape, spec, data_name: str):
    """The gen_jax config (a DDPM run) whose objective rebuilds exactly this network and schedule."""
    if spec.gen_jax_schedule is None:
        raise InteropError("scheduler config: its betas match neither of gen_jax's objective.schedule "
                           "tables (linear 1e-4..0.02 over 1000 steps, cosine); a workdir cannot name them")
    if (model.out_channels or image_shape[-1]) != image_shape[-1]:
        raise InteropError(f"config.json out_channels={model.out_channels}: the DDPM objective needs "
                           f"out_channels = in_channels = {image_shape[-1]}")
    c = common.base_config()
    c.data.name = data_name
    m = c.model
    m.name, m.channels, m.channel_mult = "unet", model.channels, tuple(model.channel_mult)
    m.num_res_blocks, m.attention_resolutions = model.num_res_blocks, tuple(model.attention_resolutions)
    m.num_heads, m.dropout, m.class_conditional = model.num_heads, model.dropout, False
    for k in UNET_IMPORT_OPTIONS:
        m[k] = getattr(model, k)
    o = c.objective
    o.schedule, o.num_timesteps, o.prediction = spec.gen_jax_schedule, spec.schedule.num_timesteps, spec.prediction
    c.sampler.name, c.sampler.num_steps, c.sampler.spacing = "ddim", 50, spec.spacing
    c.train.steps = 1
    return c


def import_folder(src: str, workdir: str, scheduler: str | None = None, data_name: str | None = None):
    """Write workdir/run.json and workdir/checkpoints/0 from the diffusers folder src. Returns the
    config. The parameters are stored as both params and EMA params (the same arrays in memory)."""
    model_dir = _model_dir(src)
    sched_path = scheduler or (os.path.join(src, "scheduler", "scheduler_config.json")
                               if os.path.exists(os.path.join(src, "scheduler")) else None)
    spec = read_scheduler(sched_path) if sched_path else scheduler_from_config({})
    model, params, info = load_diffusers(model_dir)
    if info["class_name"] != "UNet2DModel":
        raise InteropError(f"{model_dir}: a workdir can be made from a UNet2DModel; "
                           f"found {info['class_name']!r}")
    image_shape = info["image_shape"]
    if data_name is None:
        data_name = "cifar10" if tuple(image_shape) == (32, 32, 3) else "none"
    c = run_config(model, image_shape, spec, data_name)
    if spec.variance != "posterior":
        print(f"note: the scheduler's variance_type is {spec.variance!r}-like (σ² = β); gen_jax's ddpm "
              f"sampler uses the posterior variance β̃ (ddpm_sample(variance='beta') gives the other)")
    objective = build.objective(c, image_shape, None)
    if objective.model != model:  # the config must rebuild the imported network exactly
        raise AssertionError(f"run config rebuilds {objective.model}, not the imported {model}")
    params = jax.tree.map(lambda x: jax.device_put(np.asarray(x)), params)
    state = TrainState(step=jax.numpy.zeros((), jax.numpy.int32), params=params, ema_params=params,
                       opt_state=objective.tx.init(params), rng=jax.random.PRNGKey(c.seed))
    save_run_info(workdir, c, image_shape, None)
    mngr = checkpoint.manager(os.path.join(workdir, "checkpoints"))
    checkpoint.save(mngr, state, wait=True)
    mngr.close()
    return c


def define_flags():
    """Flags, defined only when run as a script (tests import this module beside others)."""
    flags.DEFINE_string("src", None, "diffusers pipeline folder or model folder (config.json + "
                        "diffusion_pytorch_model.safetensors).")
    flags.DEFINE_string("workdir", None, "Workdir to create (run.json + checkpoints/).")
    flags.DEFINE_string("scheduler", None, "scheduler_config.json (default: SRC/scheduler/).")
    flags.DEFINE_string("data_name", None, "config.data.name of the run (the FID reference of "
                        "bench/eval tools; default: cifar10 for 32x32 RGB, else 'none').")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    c = import_folder(flags.FLAGS.src, flags.FLAGS.workdir, flags.FLAGS.scheduler, flags.FLAGS.data_name)
    print(f"wrote {flags.FLAGS.workdir} (objective {c.objective.name}, schedule {c.objective.schedule}, "
          f"prediction {c.objective.prediction}, spacing {c.sampler.spacing})")


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["src", "workdir"])
    app.run(main)
