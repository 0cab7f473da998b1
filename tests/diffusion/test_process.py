"""Generalized diffusion (gen_jax/diffusion/process.py): every process in the registry, every
prediction target, exact conversions, and the VP view."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.process import (PREDICTIONS, PROCESSES, broadcast_coefficients, convert,
                                       from_x0_eps, make_process, to_x0_eps)
from gen_jax.diffusion.schedules import make_schedule



def _data(process, n=64):
    k0, k1, k2 = jax.random.split(jax.random.PRNGKey(0), 3)
    x0 = jax.random.normal(k0, (n, 3, 3, 1))
    eps = jax.random.normal(k1, (n, 3, 3, 1))
    # interior times: at the ends α or σ is 0 and ε or x0 is not determined by x_t
    t = process.t_min + (0.05 + 0.9 * jax.random.uniform(k2, (n,))) * (process.t_max - process.t_min)
    coef = broadcast_coefficients(process, t, x0)
    return x0, eps, coef[0] * x0 + coef[1] * eps, coef


@pytest.mark.parametrize("name", list(PROCESSES))
def test_conversions_are_exact_inverses(name):
    """to_x0_eps ∘ from_x0_eps is the identity for every target, and convert(src -> dst -> src)
    returns the input, on random data at random times of every process."""
    process = make_process(name)
    x0, eps, x_t, coef = _data(process)
    for p in PREDICTIONS:
        x0_back, eps_back = to_x0_eps(p, from_x0_eps(p, x0, eps, *coef), x_t, *coef)
        np.testing.assert_allclose(x0_back, x0, atol=2e-4, err_msg=f"{name} {p} x0")
        np.testing.assert_allclose(eps_back, eps, atol=2e-4, err_msg=f"{name} {p} eps")
    for src, dst in itertools.permutations(PREDICTIONS, 2):
        out = from_x0_eps(src, x0, eps, *coef)
        there = convert(out, x_t, src, dst, coef)
        np.testing.assert_allclose(there, from_x0_eps(dst, x0, eps, *coef), rtol=1e-3, atol=2e-4,
                                   err_msg=f"{name} {src}->{dst}")
        np.testing.assert_allclose(convert(there, x_t, dst, src, coef), out, rtol=1e-3, atol=2e-4,
                                   err_msg=f"{name} {src}->{dst}->{src}")


def test_velocity_is_the_time_derivative_of_the_path():
    """velocity = dx_t/dt for fixed (x0, ε), checked by central differences on the VP SDE, and
    equal to ε − x0 on the rectified-flow path."""
    process = make_process("vp_sde")
    x0, eps = jnp.float32(0.3), jnp.float32(-1.2)
    t, h = 0.4, 1e-3
    x_at = lambda s: sum(c * v for c, v in zip(process.alpha_sigma(jnp.float32(s)), (x0, eps)))
    fd = (x_at(t + h) - x_at(t - h)) / (2 * h)
    np.testing.assert_allclose(from_x0_eps("velocity", x0, eps, *process.coefficients(t)), fd, rtol=1e-3)
    rf = make_process("rectified_flow")
    np.testing.assert_allclose(from_x0_eps("velocity", x0, eps, *rf.coefficients(0.7)), eps - x0, rtol=1e-6)


@pytest.mark.parametrize("name", list(PROCESSES))
def test_t_of_logsnr_inverts_the_process(name):
    process = make_process(name)
    t = jnp.linspace(process.t_min + 0.01, process.t_max - 0.01, 50)
    np.testing.assert_allclose(process.t_of_logsnr(process.logsnr(t)), t, atol=2e-4)


def test_ddpm_process_is_the_discrete_schedule():
    """The DDPM processes at t = (k + 1)/T are the tables of schedules.py, and the VP SDE's
    default (β 0.1 .. 20) is the continuous limit of the linear one: ᾱ agrees to 1e-3."""
    for name in ("linear", "cosine"):
        table = make_schedule(name, 1000)
        process = make_process(f"ddpm_{name}")
        alpha, sigma = process.alpha_sigma((jnp.arange(1000) + 1) / 1000.0)
        np.testing.assert_allclose(alpha**2, table.alphas_bar, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(alpha**2 + sigma**2, 1.0, atol=1e-6)
    t = jnp.linspace(0.01, 1.0, 100)
    alpha_vp, _ = make_process("vp_sde").alpha_sigma(t)
    alpha_ddpm, _ = make_process("ddpm_linear").alpha_sigma(t)
    np.testing.assert_allclose(alpha_vp**2, alpha_ddpm**2, atol=1e-3)


@pytest.mark.parametrize("name", ["rectified_flow", "ve_sde", "vp_sde"])
def test_vp_view_table(name):
    """vp_schedule: ᾱ_k = α²/(α² + σ²) on its grid, decreasing, ᾱ_last >= the floor."""
    process = make_process(name)
    s = process.vp_schedule(100)
    a = np.asarray(s.alphas_bar)
    assert np.all(np.diff(a) < 0) and a[-1] >= 0.99e-5 and a[0] < 1.0
    t_end = process.sample_t_max()
    t = process.t_min + (t_end - process.t_min) * np.arange(1, 101) / 100
    alpha, sigma = process.alpha_sigma(jnp.asarray(t, jnp.float32))
    np.testing.assert_allclose(a, alpha**2 / (alpha**2 + sigma**2), rtol=1e-4)


def test_bad_names_raise():
    with pytest.raises(ValueError, match="unknown process"):
        make_process("nope")
    with pytest.raises(ValueError, match="unknown prediction"):
        from_x0_eps("nope", 1.0, 1.0, 1.0, 1.0, 0.0, 1.0)


def test_discrete_table_first_built_inside_jit_does_not_leak():
    """The cached DDPM table, first asked for inside a jit trace (as a generalized-diffusion
    training step with steps_per_call > 1 does), is concrete, so a later trace can use it."""
    from gen_jax.diffusion import process as P

    P._table.cache_clear()
    vp = P.PROCESSES["ddpm_cosine"]()
    a1 = jax.jit(lambda t: vp.alpha_sigma(t)[0])(jnp.full((3,), 0.5))
    a2 = jax.jit(lambda t: vp.alpha_sigma(t)[0])(jnp.full((5,), 0.5))  # a new trace
    assert not isinstance(vp.table.betas, jax.core.Tracer)
    np.testing.assert_allclose(np.asarray(a1)[0], np.asarray(a2)[0])
