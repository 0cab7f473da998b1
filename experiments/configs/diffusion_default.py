"""Generalized diffusion on scikit-learn's 8x8 digits: one network trained on any process
(objective.process) in any prediction target (objective.prediction), sampled by any sampler.

python -m experiments.main --config=experiments/configs/diffusion_default.py --workdir=runs/diffusion \
    --config.objective.process=ve_sde --config.objective.prediction=eps --config.sampler.name=heun
Variants: "" (rectified flow, velocity target), "vp" (VP SDE, eps), "ve" (VE SDE, eps),
"ddpm" (DDPM linear, eps), "edm" (Karras et al. 2022; "edm_smoke" its seconds-long run),
"smoke" (a seconds-long run of the default).
"""

import ml_collections

from experiments.configs import common


def general_diffusion(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Turn a base config into a generalized-diffusion one (gen_jax/diffusion/process.py)."""
    c.objective.name = "diffusion"
    c.objective.process = "rectified_flow"  # rectified_flow | vp_sde | ve_sde | ddpm_linear | ddpm_cosine | edm
    c.objective.prediction = "velocity"     # network target: eps | x0 | v | velocity | score | edm
    c.objective.time_sampling = "uniform"   # training times: uniform | logit_normal (SD3) | log_normal (EDM σ)
    c.objective.logit_mean = 0.0            # logit-normal location; log_normal: P_mean of ln σ
    c.objective.logit_scale = 1.0           # logit-normal scale (> 0); log_normal: P_std of ln σ
    c.objective.shift = 1.0                 # SD3 shift of the training times (1: none)
    c.objective.time_scale = 1000.0         # t ∈ [0, 1] enters the network as t·time_scale
    c.objective.beta_min = 0.1              # vp_sde: β(0)
    c.objective.beta_max = 20.0             # vp_sde: β(1)
    c.objective.sigma_min = 0.01            # ve_sde, edm: σ(0)
    c.objective.sigma_max = 80.0            # ve_sde, edm: σ(1)
    c.objective.rho = 7.0                   # edm: ρ of the σ grid (eq. 5 of Karras et al. 2022)
    # objective.num_timesteps (base config) is T of ddpm_linear / ddpm_cosine
    c.sampler.name = "rf_euler"             # any of gen_jax.samplers.SAMPLERS
    c.sampler.num_steps = 50                # sampler steps for the final grid
    c.sampler.shift = 1.0                   # rf_* samplers: SD3 shift of the sampling time grid
    return c


def edm(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """EDM (Karras et al. 2022): its σ path and ρ grid, preconditioning, log-normal σ training
    (P_mean −1.2, P_std 1.2) and Heun with its σ grid (18 steps: 35 network calls)."""
    c.objective.process = "edm"
    c.objective.prediction = "edm"
    c.objective.time_sampling = "log_normal"
    c.objective.logit_mean, c.objective.logit_scale = -1.2, 1.2
    c.objective.sigma_min, c.objective.sigma_max, c.objective.rho = 0.002, 80.0, 7.0
    c.sampler.name, c.sampler.num_steps = "heun", 18
    return c


def _process(process: str):
    """The VP / VE / DDPM variants: that process, an eps network, DDIM."""
    return common.preset(objective=dict(process=process, prediction="eps"), sampler=dict(name="ddim"))


def get_config(variant: str = ""):
    c = common.digits_run(general_diffusion(common.base_config()))
    return common.with_variant(c, variant, "diffusion_default.py", vp=_process("vp_sde"),
                               ve=_process("ve_sde"), ddpm=_process("ddpm_linear"), edm=edm,
                               edm_smoke=common.preset(edm, common.smoke))
