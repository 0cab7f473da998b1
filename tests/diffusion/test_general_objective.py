"""The generalized-diffusion objective: every sampler on every process (the analytic Gaussian
problem), and rectified flow through the general code = rectified flow through its own config."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import diffusion_default, rf_default
from gen_jax.diffusion.process import PROCESSES, broadcast_coefficients, from_x0_eps, make_process
from gen_jax.samplers import SAMPLERS, run as run_sampler
from gen_jax.samplers.views import Views, rf_velocity, vp_denoiser

MU, S = 0.5, 0.3
# one target per process, so that every target is exercised
PREDICTION = {"rectified_flow": "velocity", "vp_sde": "eps", "ve_sde": "score", "ddpm_linear": "v",
              "ddpm_cosine": "x0", "edm": "edm"}


def gaussian_model(process, prediction, mu=MU, s=S):
    """The exact network for x0 ~ N(mu, s²) per element: E[x0 | x_t] (a Gaussian posterior)
    written in the given prediction target."""

    def f(x_t, t):
        t = jnp.maximum(t, 1e-4)  # the exact ε/x0 are singular at σ = 0; a network is not
        alpha, sigma, d_alpha, d_sigma = broadcast_coefficients(process, t, x_t)
        x0 = mu + alpha * s**2 / (alpha**2 * s**2 + sigma**2) * (x_t - alpha * mu)
        eps = (x_t - alpha * x0) / sigma
        return from_x0_eps(prediction, x0, eps, alpha, sigma, d_alpha, d_sigma)

    return f


def _views(name, mu=MU, s=S):
    process, prediction = make_process(name), PREDICTION[name]
    model = gaussian_model(process, prediction, mu, s)
    schedule = process.vp_schedule() if name.startswith("ddpm") else process.vp_schedule(1000)
    return (process, schedule, vp_denoiser(model, process, prediction, schedule),
            rf_velocity(model, process, prediction))


def test_every_process_gives_the_samplers_the_exact_vp_and_rf_problems():
    """For every process (each in another target), the VP view is exactly the Gaussian denoiser on
    its own ᾱ table (the problem tests/samplers solve with every sampler), at integer and float
    table times, and the RF view is exactly the rectified-flow Gaussian velocity
    (tests/flow/gaussian_flow.py): the samplers see the same problem whatever the process."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "samplers"))
    sys.path.insert(0, str(Path(__file__).parents[1] / "flow"))
    from analytic import gaussian_denoiser
    from gaussian_flow import velocity as rf_gaussian_velocity

    x = jax.random.normal(jax.random.PRNGKey(0), (6, 2, 1, 1))
    for name in PROCESSES:
        process, schedule, denoise, velocity = _views(name)
        reference = gaussian_denoiser(schedule, MU, S)
        T = schedule.num_timesteps
        for t in (jnp.array([0, 1, T // 3, T // 2, T - 2, T - 1]), jnp.array([0.5, 3.25, 100.5, 400.7, T - 1.5, 7.0])):
            for got, want in zip(denoise(x, t), reference(x, t)):
                np.testing.assert_allclose(got, want, atol=5e-4, err_msg=f"{name} t={t}")
        t_rf = jnp.array([0.05, 0.2, 0.5, 0.8, 0.9, 0.99])  # inside every process's range
        np.testing.assert_allclose(velocity(x, t_rf), rf_gaussian_velocity(x, t_rf, MU, S), rtol=2e-3,
                                   atol=2e-3, err_msg=name)


def test_every_sampler_converges_on_the_ve_sde():
    """All samplers of the registry, on the VP view (ddpm ... euler_ancestral) or the RF view
    (rf_euler, rf_heun), draw N(MU, S²) from the exact score model of the VE SDE (α ≡ 1, σ up to 80: the
    process least like DDPM) to within 0.04 (|mean error| + |std error|) at 100 steps, and improve on 2 steps."""
    _, schedule, denoise, velocity = _views("ve_sde", 0.2, S)
    x_T = jax.random.normal(jax.random.PRNGKey(0), (32, 8, 8, 1))  # 64 values per sample (pc's norms)
    keys = jax.random.split(jax.random.PRNGKey(1), 32)

    @jax.jit
    def run(n):
        views = Views(denoise=denoise, schedule=schedule, velocity=velocity)
        out = {k: run_sampler(k, views, x_T, keys, n) for k in SAMPLERS}
        return {k: jnp.abs(v.mean() - 0.2) + jnp.abs(v.std() - S) for k, v in out.items()}

    few, many = run(2), run(100)
    for k, err in many.items():
        assert err < 0.04 and err < few[k], f"{k}: {few[k]:.4f} -> {err:.4f}"


def test_rectified_flow_through_the_general_code_equals_its_own_config():
    """The objectives that experiments/build.py makes from rf_default:smoke and from
    diffusion_default:smoke with process rectified_flow, prediction velocity and the same time
    sampling give the same losses and parameters over two train steps on the same batches, and
    the same Euler samples (rectified flow through the general code = through its own config)."""
    from experiments import build

    c_rf = rf_default.get_config("smoke")
    c_gen = diffusion_default.get_config("smoke")
    for k in ("time_sampling", "logit_mean", "logit_scale", "shift", "time_scale", "cond_drop_prob"):
        c_gen.objective[k] = c_rf.objective[k]
    c_gen.model.class_conditional = c_rf.model.class_conditional
    c_gen.optim.learning_rate = c_rf.optim.learning_rate
    rf = build.objective(c_rf, (8, 8, 1), 10)
    gen = build.objective(c_gen, (8, 8, 1), 10)
    batches = [{"image": jax.random.uniform(jax.random.PRNGKey(i), (8, 8, 8, 1), minval=-1, maxval=1),
                "label": jnp.arange(8) % 10} for i in range(2)]

    @jax.jit
    def train(key):
        out = []
        for obj in (rf, gen):
            state, losses = obj.init(key), []
            for b in batches:
                state, m = obj.step(state, b)
                losses.append(m["loss"])
            x = obj.sample(state.params, key, 4, num_steps=3, labels=jnp.arange(4),
                           **({"sampler": "rf_euler"} if obj is gen else {}))
            out.append((jnp.stack(losses), state.params, x))
        return out

    (l_rf, p_rf, x_rf), (l_gen, p_gen, x_gen) = train(jax.random.PRNGKey(0))
    np.testing.assert_allclose(l_gen, l_rf, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(p_rf), jax.tree.leaves(p_gen)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(x_gen, x_rf, atol=1e-5)
    assert float(jnp.abs(l_rf[0] - l_rf[1])) > 0  # two different steps were compared


def test_smoke_config_trains(tmp_path):
    """diffusion_default.py:smoke trains two steps through experiments.train.run and samples."""
    from experiments.train import run

    state = run(diffusion_default.get_config("smoke"), str(tmp_path), progress=False)
    assert int(state.step) == 2 and (tmp_path / "samples.png").exists()
