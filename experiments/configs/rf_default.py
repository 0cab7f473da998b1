"""Rectified flow on scikit-learn's 8x8 digits (no data directory needed), class-conditional with
label dropout for classifier-free guidance; the same U-Net as default.py, as a velocity net.

python -m experiments.main --config=experiments/configs/rf_default.py --workdir=runs/rf_default
"""

import ml_collections

from experiments.configs import common


def rectified_flow(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Turn a base config into a rectified-flow one (the objective and sampler fields it reads).
    The DDPM fields of base_config (schedule, num_timesteps, prediction, eta, spacing) are unused."""
    c.objective.name = "rectified_flow"
    c.objective.time_sampling = "logit_normal"  # training t: uniform | logit_normal (SD3)
    c.objective.logit_mean = 0.0        # logit-normal location
    c.objective.logit_scale = 1.0       # logit-normal scale (> 0)
    c.objective.shift = 1.0             # SD3 shift of the training times (1: none; > 1: noisier)
    c.objective.time_scale = 1000.0     # t ∈ [0, 1] enters the U-Net's embedding as t·time_scale
    c.sampler.name = "rf_euler"         # sampler for the final grid: any of gen_jax.samplers.SAMPLERS (rf_heun: 2 calls/step)
    c.sampler.num_steps = 50            # solver steps for the final grid
    c.sampler.shift = 1.0               # SD3 shift of the sampling time grid
    return c


def get_config(variant: str = ""):
    c = common.digits_run(common.guided(rectified_flow(common.base_config())))
    return common.with_variant(c, variant, "rf_default.py")
