"""Generalized diffusion on scikit-learn's 8x8 digits: one network trained on any process
(objective.process) in any prediction target (objective.prediction), sampled by any sampler.

python -m experiments.main --config=experiments/configs/diffusion_default.py --workdir=runs/diffusion \
    --config.objective.process=ve_sde --config.objective.prediction=eps --config.sampler.name=heun
Variants: "" (rectified flow, velocity target), "vp" (VP SDE, eps), "ve" (VE SDE, eps),
"ddpm" (DDPM linear, eps), "smoke" (a seconds-long run of the default).
"""

import ml_collections

from experiments.configs import common


def general_diffusion(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Turn a base config into a generalized-diffusion one (gen_jax/diffusion/process.py)."""
    c.objective.name = "diffusion"
    c.objective.process = "rectified_flow"  # rectified_flow | vp_sde | ve_sde | ddpm_linear | ddpm_cosine
    c.objective.prediction = "velocity"     # network target: eps | x0 | v | velocity | score
    c.objective.time_sampling = "uniform"   # training times: uniform | logit_normal (SD3)
    c.objective.logit_mean = 0.0            # logit-normal location
    c.objective.logit_scale = 1.0           # logit-normal scale (> 0)
    c.objective.shift = 1.0                 # SD3 shift of the training times (1: none)
    c.objective.time_scale = 1000.0         # t ∈ [0, 1] enters the network as t·time_scale
    c.objective.beta_min = 0.1              # vp_sde: β(0)
    c.objective.beta_max = 20.0             # vp_sde: β(1)
    c.objective.sigma_min = 0.01            # ve_sde: σ(0)
    c.objective.sigma_max = 80.0            # ve_sde: σ(1)
    # objective.num_timesteps (base config) is T of ddpm_linear / ddpm_cosine
    c.sampler.name = "rf_euler"             # any of gen_jax.samplers.SAMPLERS
    c.sampler.num_steps = 50                # sampler steps for the final grid
    c.sampler.shift = 1.0                   # rf_* samplers: SD3 shift of the sampling time grid
    return c


def get_config(variant: str = ""):
    c = general_diffusion(common.base_config())
    c.data.name = "digits"
    c.optim.learning_rate = 1e-3
    c.train.steps = 2500
    c.train.batch_size = 64
    c.train.sample_every = 500
    if variant in ("vp", "ve", "ddpm"):
        c.objective.process = {"vp": "vp_sde", "ve": "ve_sde", "ddpm": "ddpm_linear"}[variant]
        c.objective.prediction = "eps"
        c.sampler.name = "ddim"
    elif variant == "smoke":
        common.smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of diffusion_default.py; expected '', 'vp', "
                         f"'ve', 'ddpm' or 'smoke'")
    return c
