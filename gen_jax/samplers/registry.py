"""The one sampler registry: a unique name for every sampler, what it runs on, which options it
takes and what it costs.

Every sampler runs on every noise path (gen_jax.diffusion.process) through one of two views of a
trained model (gen_jax.samplers.views.Views):
  "vp": fn(denoise, schedule, x_T, key, num_steps, **options), denoise(x_vp, t_idx) -> (x0, ε) on
        the path's VP view `schedule` (a DiscreteSchedule; Karras et al. 2022 sec. 4);
  "rf": fn(velocity, x_1, num_steps, **options), velocity(x_rf, t_rf) -> ε − x0 on the path's
        rectified-flow view (same SNR, x_rf = x_t/(α + σ), t_rf = σ/(α + σ)).
`run` is the single entry: it checks the options against the sampler's own (an option a sampler
does not take is an error naming both), then calls it on the view it needs.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from gen_jax.flow import samplers as flow
from gen_jax.samplers import ddpm_ddim, dpm_solver, karras, pc, unipc

# options every sampler takes (trajectory handling and the debug loop live in samplers.common)
COMMON_OPTIONS = ("debug", "return_trajectory")


@dataclasses.dataclass(frozen=True)
class SamplerSpec:
    fn: Callable
    view: str                     # "vp" | "rf" (module docstring)
    options: tuple = ()           # keyword options it takes besides COMMON_OPTIONS
    calls: Callable = lambda n, **o: n  # network calls of one sample at n steps, given the options
    stochastic: bool = False      # draws noise from its key (for some option values)


_KARRAS = ("s_churn", "s_tmin", "s_tmax", "s_noise", "rho", "clip_x0")
SAMPLERS = {
    "ddpm": SamplerSpec(ddpm_ddim.ddpm_sample, "vp", ("spacing", "variance", "clip_x0"), stochastic=True),
    "ddim": SamplerSpec(ddpm_ddim.ddim_sample, "vp", ("eta", "spacing", "clip_x0"), stochastic=True),
    "dpm_solver_2": SamplerSpec(dpm_solver.dpm_solver_2_sample, "vp", ("spacing", "clip_x0"),
                                 lambda n, **o: 2 * n - 1),
    "dpm_solver_pp_2m": SamplerSpec(dpm_solver.dpm_solver_pp_2m_sample, "vp", ("spacing", "clip_x0")),
    "unipc": SamplerSpec(unipc.unipc_sample, "vp", ("spacing", "clip_x0")),
    "pc": SamplerSpec(pc.pc_sample, "vp", ("snr", "n_corrector", "spacing", "clip_x0"),
                      lambda n, n_corrector=1, **o: n * (1 + n_corrector), stochastic=True),
    "euler": SamplerSpec(karras.euler_sample, "vp", _KARRAS, stochastic=True),
    "heun": SamplerSpec(karras.heun_sample, "vp", _KARRAS, lambda n, **o: 2 * n - 1, stochastic=True),
    "euler_ancestral": SamplerSpec(karras.euler_ancestral_sample, "vp", ("eta", "rho", "clip_x0"),
                                   stochastic=True),
    "rf_euler": SamplerSpec(flow.euler_sample, "rf", ("shift",)),
    "rf_heun": SamplerSpec(flow.heun_sample, "rf", ("shift",), lambda n, **o: 2 * n),
}
# options whose value is checked when it is a Python number (traced values are the caller's)
_RANGES = {"eta": (0.0, 1.0, "[0, 1]"), "n_corrector": (0, None, ">= 0"), "shift": (0.0, None, "> 0")}


def get(name: str) -> SamplerSpec:
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; expected one of {list(SAMPLERS)}")
    return SAMPLERS[name]


def check_options(name: str, options: dict, num_steps=None) -> None:
    """ValueError naming the option when `name` does not take it or a concrete value is out of range."""
    spec = get(name)
    for k, v in options.items():
        if k not in spec.options and k not in COMMON_OPTIONS:
            raise ValueError(f"sampler {name!r} does not take option {k!r}; it takes {list(spec.options)}")
        if k in _RANGES and isinstance(v, (int, float)):
            lo, hi, what = _RANGES[k]
            if v < lo or (hi is not None and v > hi) or (k == "shift" and v <= 0):
                raise ValueError(f"sampler {name!r}: {k} must be {what}, got {v}")
    if isinstance(num_steps, int) and num_steps < 1:
        raise ValueError(f"sampler {name!r}: num_steps must be >= 1, got {num_steps}")


def run(name: str, views, x_T, key, num_steps, **options):
    """Sampler `name` from x_T [B, ...] (noise at the path's noisy end) on `views`
    (gen_jax.samplers.views.Views). key: one key or per-sample keys [B, 2] for the stochastic
    samplers. num_steps and numeric options may be traced. Returns x0 [B, ...] (or, with
    return_trajectory=True, (x0, trajectory))."""
    check_options(name, options, num_steps)
    spec = SAMPLERS[name]
    if spec.view == "rf":
        if views.velocity is None:
            raise ValueError(f"sampler {name!r} needs a rectified-flow view, which this model lacks")
        return spec.fn(views.velocity, x_T, num_steps, **options)
    if views.denoise is None:
        raise ValueError(f"sampler {name!r} needs a VP view, which this model lacks")
    return spec.fn(views.denoise, views.schedule, x_T, key, num_steps, **options)
