"""The seeds' GAN claims, measured on MNIST: the objective trick, mode collapse, sampling speed,
stability, and the target table (also on Fashion-MNIST).

python -m experiments.bench_gan --mode=objective --data_dir=../shared/data --out_dir=runs/bench_gan

python -m experiments.bench_gan --mode=collapse --data_dir=../shared/data --out_dir=runs/bench_gan
python -m experiments.bench_gan --mode=speed --out_dir=runs/bench_gan
python -m experiments.bench_gan --mode=stability --data_dir=../shared/data --seeds=0,1,2 \
    --steps=5000 --num=10000 --out_dir=runs/bench_gan
python -m experiments.bench_gan --mode=targets --dataset=fashion_mnist --data_dir=../shared/data \
    --seeds=0 --num=10000 --out_dir=runs/bench_gan

objective: the seeds' "objective trick". Trains DCGAN (configs/dcgan_mnist.py) with the saturating
  minimax generator loss and with the non-saturating one (same seed, data and networks) for
  --steps, logging every --log_every steps; plots the analytic |∂L_G/∂f| of both against
  D(G(z)) = σ(f), and the measured G-gradient norm and D(G(z)) over those first steps; writes
  objective.{json,md,png}.
collapse: trains the healthy DCGAN (configs/dcgan_mnist.py) and the collapsing GAN
  (configs/gan_collapse_mnist.py) for --steps each through experiments.main, with the training
  loop's evaluation every --eval_every steps (class coverage, precision/recall and FID of
  --eval_samples samples in the MNIST feature-net space); writes collapse.{json,md,png}.
speed: images/s of the DCGAN generator against the MNIST DDPM U-Net (configs/ddpm_mnist.py) under
  the samplers of --diffusion (default 1000 ancestral DDPM steps and 10 DDIM steps): same device(s),
  same batch, compilation excluded, median of --repeats. The weights are freshly initialised:
  throughput does not depend on their values, so nothing is trained. Writes speed.{json,md}.
stability: trains DCGAN, WGAN-GP and the DDPM (their configs) for --steps with each of --seeds, and
  reports the final FID of --num samples (--ddpm_num for the DDPM: its sampling costs
  sampler.num_steps network calls per image) (mean, std, spread); writes stability.{json,md}.
targets: trains --models (default DCGAN, WGAN-GP, StyleGAN2-style) with each of --seeds and reports
  FID, precision, recall, density, PRDC coverage and class coverage of --num samples in the
  dataset's feature-net space; its runs are the stability runs (same workdirs): one reuses the
  other's finished cells. writes targets.{json,md}.
--dataset=fashion_mnist trains on Fashion-MNIST and scores with its classifier; its workdirs and
  results go under --out_dir/fashion_mnist.
--model_steps=wgan_gp:1000,ddpm:3000 overrides --steps per model.
--feature_nets=mnist,mnist_v1 (stability, targets) adds the FID of the same samples in further
  feature networks (fid_mnist_v1 per cell, an FID column each); a finished cell without them is
  scored again from its workdir, not retrained.
One module per mode: experiments/bench_gan_{objective,collapse,speed,fid}.py (fid: stability and
targets), their shared configs and log readers in bench_gan_common.py.
Every run lives in a workdir under --out_dir and resumes: a finished run is not trained again.
--variant=smoke uses the configs' smoke variants (tiny networks, for tests).
"""

from __future__ import annotations

from absl import app, flags, logging

from experiments import bench_common as bc
from experiments import train as main_lib
from experiments.bench_gan_collapse import COLLAPSE_RUNS, collapse, collapse_markdown
from experiments.bench_gan_common import CONFIGS, DATASETS, load_config
from experiments.bench_gan_fid import (STABILITY_MODELS, TARGET_MODELS, final_sampler, stability,
                                       stability_markdown, summarize, targets, targets_markdown)
from experiments.bench_gan_objective import (OBJECTIVE_LOSSES, objective_curves, objective_markdown,
                                             objective_trick)
from experiments.bench_gan_speed import speed, speed_markdown

# the modes' entry points, importable from here as before the split (main_lib: tests replace its run)
__all__ = ["CONFIGS", "COLLAPSE_RUNS", "OBJECTIVE_LOSSES", "STABILITY_MODELS", "TARGET_MODELS",
           "collapse", "collapse_markdown", "final_sampler", "load_config", "main_lib",
           "objective_curves", "objective_markdown", "objective_trick", "speed", "speed_markdown",
           "stability", "stability_markdown", "summarize", "targets", "targets_markdown"]

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _MODE, _DATASET, _OUT, _DATA_DIR, _VARIANT, _STEPS, _MODEL_STEPS, _LOG_EVERY, _MODELS
    global _EVAL_EVERY, _EVAL_SAMPLES, _SEEDS, _NUM, _DDPM_NUM, _NUM_REAL, _CHANNELS, _BATCH
    global _REPEATS, _NETS, _DIFFUSION
    _MODE = flags.DEFINE_enum("mode", None, ["objective", "collapse", "speed", "stability", "targets"],
                              "What to measure.")
    _DATASET = flags.DEFINE_enum("dataset", "mnist", list(DATASETS), "objective, collapse, stability, "
                                 "targets: training data and feature network (its classifier).")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_gan", "Directory for workdirs and results.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the configs').")
    _VARIANT = flags.DEFINE_enum("variant", "", ["", "smoke"], "Config variant (smoke: tiny, for tests).")
    _STEPS = flags.DEFINE_integer("steps", None, "Training steps per run (default: objective 100, "
                                  "collapse 800, stability/targets the configs' own train.steps).")
    _MODEL_STEPS = flags.DEFINE_list("model_steps", [], "stability, targets: MODEL:STEPS overrides of "
                                     "--steps, e.g. wgan_gp:1000,ddpm:3000.")
    _LOG_EVERY = flags.DEFINE_integer("log_every", 2, "objective: steps between logged gradient norms.")
    _MODELS = flags.DEFINE_list("models", None, "stability, targets: models (default: stability "
                                "dcgan,wgan_gp,ddpm; targets dcgan,wgan_gp,stylegan2).")
    _EVAL_EVERY = flags.DEFINE_integer("eval_every", 100, "collapse: steps between evaluations.")
    _EVAL_SAMPLES = flags.DEFINE_integer("eval_samples", 1000, "collapse: samples per evaluation.")
    _SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "stability: training seeds.")
    _NUM = flags.DEFINE_integer("num", 10000, "stability, targets: samples for the final FID.")
    _DDPM_NUM = flags.DEFINE_integer("ddpm_num", 0, "stability, targets: samples for the DDPM's final "
                                     "FID (0: --num).")
    _NUM_REAL = flags.DEFINE_integer("num_real", 0, "stability: training images in the FID reference "
                                     "(0: all).")
    _CHANNELS = flags.DEFINE_integer("channels", 0, "model.channels (and model.d_channels where a "
                                      "config sets it) of every trained run (0: the configs' own); a "
                                      "smaller width for a quick look.")
    _BATCH = flags.DEFINE_integer("batch_size", 64, "speed: images per sampling call.")
    _REPEATS = flags.DEFINE_integer("repeats", 3, "speed: timed calls per row (median).")
    _NETS = flags.DEFINE_list("feature_nets", [], "stability, targets: " + bc.FEATURE_NETS_HELP)
    _DIFFUSION = flags.DEFINE_list("diffusion", ["ddpm:1000", "ddim:10"], "speed: SAMPLER:STEPS rows "
                                   "for the DDPM U-Net.")


def _model_steps(specs) -> dict:
    out = {}
    for spec in specs:
        name, _, steps = spec.partition(":")
        if name not in CONFIGS or not steps.isdigit() or int(steps) < 1:
            raise app.UsageError(f"--model_steps: expected MODEL:STEPS with MODEL in {sorted(CONFIGS)} "
                                 f"and STEPS >= 1, got {spec!r}")
        out[name] = int(steps)
    return out


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    out, mode, dataset = _OUT.value, _MODE.value, _DATASET.value
    if mode == "objective":
        res = objective_trick(out, _DATA_DIR.value, _STEPS.value or 100, _LOG_EVERY.value,
                              _VARIANT.value, channels=_CHANNELS.value, dataset=dataset)
        print(objective_markdown(res))
    elif mode == "collapse":
        res = collapse(out, _DATA_DIR.value, _STEPS.value or 800, _EVAL_EVERY.value,
                       _EVAL_SAMPLES.value, _VARIANT.value, channels=_CHANNELS.value, dataset=dataset)
        print(collapse_markdown(res))
    elif mode == "speed":
        diffusion = []
        for spec in _DIFFUSION.value:
            name, _, steps = spec.partition(":")
            if name not in ("ddpm", "ddim") or not steps.isdigit():
                raise app.UsageError(f"--diffusion: expected ddpm:STEPS or ddim:STEPS, got {spec!r}")
            diffusion.append((name, int(steps)))
        print(speed_markdown(speed(out, _BATCH.value, _REPEATS.value, diffusion, _VARIANT.value)))
    else:
        fn, md = (stability, stability_markdown) if mode == "stability" else (targets, targets_markdown)
        models = tuple(_MODELS.value or (STABILITY_MODELS if mode == "stability" else TARGET_MODELS))
        for m in models:
            if m not in CONFIGS or m == "collapse":
                raise app.UsageError(f"--models: unknown model {m!r}; expected some of "
                                     f"{sorted(set(CONFIGS) - {'collapse'})}")
        res = fn(out, _DATA_DIR.value, [int(s) for s in _SEEDS.value], _STEPS.value, _NUM.value,
                 _NUM_REAL.value, _VARIANT.value, models=models, channels=_CHANNELS.value,
                 dataset=dataset, model_steps=_model_steps(_MODEL_STEPS.value),
                 ddpm_num=_DDPM_NUM.value, feature_nets=_NETS.value)
        print(md(res))


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["mode"])
    app.run(main)
