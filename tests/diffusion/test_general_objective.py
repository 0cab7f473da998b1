"""The generalized-diffusion objective: every sampler on every process (the analytic Gaussian
problem), and rectified flow through the general code = rectified flow through its own config."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import diffusion_default, rf_default
from gen_jax.diffusion.general_objective import RF_SAMPLERS, rf_velocity, vp_denoiser
from gen_jax.diffusion.process import PROCESSES, broadcast_coefficients, from_x0_eps, make_process
from gen_jax.samplers import SAMPLERS

MU, S = 0.5, 0.3
# one target per process, so that every target is exercised
PREDICTION = {"rectified_flow": "velocity", "vp_sde": "eps", "ve_sde": "score", "ddpm_linear": "v",
              "ddpm_cosine": "x0"}


def gaussian_model(process, prediction, mu=MU, s=S):
    """The exact network for x0 ~ N(mu, s²) per element: E[x0 | x_t] (a Gaussian posterior)
    written in the given prediction target."""

    def f(x_t, t):
        alpha, sigma, d_alpha, d_sigma = broadcast_coefficients(process, t, x_t)
        x0 = mu + alpha * s**2 / (alpha**2 * s**2 + sigma**2) * (x_t - alpha * mu)
        eps = (x_t - alpha * x0) / sigma
        return from_x0_eps(prediction, x0, eps, alpha, sigma, d_alpha, d_sigma)

    return f


@pytest.mark.parametrize("name", list(PROCESSES))
def test_every_sampler_converges_on_every_process(name):
    """Each sampler of gen_jax.samplers (on the VP view) and the rectified-flow Euler/Heun (on
    the RF view) draws N(MU, S²) from the exact model of every process to within 0.02 in mean
    and std (4000 samples); deterministic ones also improve from 2 to 50 steps."""
    process, prediction = make_process(name), PREDICTION[name]
    model = gaussian_model(process, prediction)
    schedule = process.vp_schedule() if name.startswith("ddpm") else process.vp_schedule(1000)
    denoise = vp_denoiser(model, process, prediction, schedule)
    velocity = rf_velocity(model, process, prediction)
    x_T = jax.random.normal(jax.random.PRNGKey(0), (4000, 1))
    keys = jax.random.split(jax.random.PRNGKey(1), 4000)

    @jax.jit
    def run(n):
        out = {k: fn(denoise, schedule, x_T, keys, n) for k, fn in SAMPLERS.items()}
        out.update({k: fn(velocity, x_T, n) for k, fn in RF_SAMPLERS.items()})
        return {k: (jnp.abs(v.mean() - MU), jnp.abs(v.std() - S)) for k, v in out.items()}

    few, many = run(2), run(50)
    for k, (dm, ds) in many.items():
        assert dm < 0.02 and ds < 0.02, f"{name}/{prediction} {k}: mean err {dm:.4f}, std err {ds:.4f}"
    for k in ("ddim", "rf_euler", "euler", "dpm_solver_pp_2m"):
        assert sum(many[k]) < sum(few[k]), f"{name} {k}: {few[k]} -> {many[k]}"


def _metrics(workdir):
    lines = (Path(workdir) / "logs" / "metrics.jsonl").read_text().splitlines()
    return [json.loads(l) for l in lines if "loss" in json.loads(l)]


def test_rectified_flow_through_the_general_code_equals_its_own_config(tmp_path):
    """rf_default:smoke and diffusion_default:smoke with process rectified_flow, prediction
    velocity and the same time sampling train to the same losses and parameters (2 steps through
    experiments.main.run), and their final Euler samples agree."""
    from experiments.main import run

    c_rf = rf_default.get_config("smoke")
    c_gen = diffusion_default.get_config("smoke")
    for k in ("time_sampling", "logit_mean", "logit_scale", "shift", "time_scale", "cond_drop_prob"):
        c_gen.objective[k] = c_rf.objective[k]
    c_gen.model.class_conditional = c_rf.model.class_conditional
    c_gen.optim.learning_rate = c_rf.optim.learning_rate
    c_gen.sampler.name, c_gen.sampler.num_steps = "rf_euler", c_rf.sampler.num_steps
    s_rf = run(c_rf, str(tmp_path / "rf"), progress=False)
    s_gen = run(c_gen, str(tmp_path / "gen"), progress=False)
    m_rf, m_gen = _metrics(tmp_path / "rf"), _metrics(tmp_path / "gen")
    assert len(m_rf) == len(m_gen) == 2
    for a, b in zip(m_rf, m_gen):
        np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-5)
    for a, b in zip(jax.tree.leaves(s_rf.params), jax.tree.leaves(s_gen.params)):
        np.testing.assert_allclose(a, b, atol=1e-6)
