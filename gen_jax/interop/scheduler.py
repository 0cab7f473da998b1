"""A diffusers scheduler config (scheduler_config.json of DDPMScheduler / DDIMScheduler / ...) as
gen_jax's discrete noise schedule and sampler settings.

betas (DDPM eq. 2) are computed as diffusers computes them: `linear`, `scaled_linear` (Stable
Diffusion), `squaredcos_cap_v2` (improved DDPM's cosine) or `trained_betas`; ᾱ_t = ∏(1 − β).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

import jax.numpy as jnp
import numpy as np

from gen_jax.diffusion.schedules import DiscreteSchedule, make_schedule
from gen_jax.interop.folder import InteropError

PREDICTIONS = {"epsilon": "eps", "sample": "x0", "v_prediction": "v"}
# variance_type -> gen_jax ddpm_sample variance; "learned*" (DiT) keep the network's ε half only
VARIANCES = {"fixed_small": "posterior", "fixed_small_log": "posterior", "fixed_large": "beta",
             "fixed_large_log": "beta", "learned": "posterior", "learned_range": "posterior"}


@dataclasses.dataclass(frozen=True)
class SchedulerSpec:
    schedule: DiscreteSchedule    # β_t and ᾱ_t, float32 [T]
    prediction: str               # gen_jax prediction: eps | x0 | v
    spacing: str                  # timestep spacing of the sampler: leading | linspace | trailing
    variance: str                 # ddpm_sample variance: posterior | beta
    learned_sigma: bool           # the network also outputs a variance (DiT); samplers use ε only
    clip_sample: bool             # diffusers clips x0_hat to [−1, 1] in its samplers
    gen_jax_schedule: str | None  # objective.schedule whose make_schedule gives these betas, or None


def betas_from_config(cfg: dict) -> np.ndarray:
    """β_1..β_T (float64) as diffusers' schedulers compute them from their config."""
    T = int(cfg.get("num_train_timesteps", 1000))
    name = cfg.get("beta_schedule", "linear")
    start, end = float(cfg.get("beta_start", 1e-4)), float(cfg.get("beta_end", 0.02))
    if cfg.get("trained_betas") is not None:
        return np.asarray(cfg["trained_betas"], np.float64)
    if name == "linear":
        return np.linspace(start, end, T, dtype=np.float64)
    if name == "scaled_linear":
        return np.linspace(start**0.5, end**0.5, T, dtype=np.float64) ** 2
    if name == "squaredcos_cap_v2":
        f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
        return np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], np.float64)
    raise InteropError(f"scheduler config field 'beta_schedule': expected linear, scaled_linear or "
                       f"squaredcos_cap_v2 (or trained_betas), found {name!r}")


def scheduler_from_config(cfg: dict) -> SchedulerSpec:
    """The gen_jax view of a diffusers scheduler config dict."""
    pred = cfg.get("prediction_type", "epsilon")
    if pred not in PREDICTIONS:
        raise InteropError(f"scheduler config field 'prediction_type': expected one of "
                           f"{sorted(PREDICTIONS)}, found {pred!r}")
    variance = cfg.get("variance_type", "fixed_small")
    if variance not in VARIANCES:
        raise InteropError(f"scheduler config field 'variance_type': expected one of "
                           f"{sorted(VARIANCES)}, found {variance!r}")
    spacing = cfg.get("timestep_spacing", "leading")
    if spacing not in ("leading", "linspace", "trailing"):
        raise InteropError(f"scheduler config field 'timestep_spacing': expected leading, linspace or "
                           f"trailing, found {spacing!r}")
    if int(cfg.get("steps_offset", 0)) != 0:
        raise InteropError(f"scheduler config field 'steps_offset': gen_jax's spacings have no offset; "
                           f"expected 0, found {cfg['steps_offset']!r}")
    for field in ("rescale_betas_zero_snr", "thresholding"):
        if cfg.get(field):
            raise InteropError(f"scheduler config field {field!r}: not supported, found {cfg[field]!r}")
    betas = betas_from_config(cfg)
    schedule = DiscreteSchedule(betas=jnp.asarray(betas, jnp.float32),
                                alphas_bar=jnp.asarray(np.cumprod(1.0 - betas), jnp.float32))
    named = None
    for name in ("linear", "cosine"):  # the objective.schedule that rebuilds the same table
        ours = np.asarray(make_schedule(name, len(betas)).betas, np.float64)
        if np.allclose(ours, betas, rtol=1e-6, atol=0):
            named = name
    return SchedulerSpec(schedule=schedule, prediction=PREDICTIONS[pred], spacing=spacing,
                         variance=VARIANCES[variance], learned_sigma=variance.startswith("learned"),
                         clip_sample=bool(cfg.get("clip_sample", True)), gen_jax_schedule=named)


def read_scheduler(path: str) -> SchedulerSpec:
    """A scheduler_config.json file, or a pipeline folder holding scheduler/scheduler_config.json."""
    if os.path.isdir(path):
        path = os.path.join(path, "scheduler", "scheduler_config.json")
    if not os.path.exists(path):
        raise InteropError(f"{path} not found (expected a diffusers scheduler_config.json)")
    with open(path) as f:
        return scheduler_from_config(json.load(f))
