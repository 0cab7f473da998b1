import jax
import jax.numpy as jnp
import numpy as np
import pytest
from analytic import check_loops_agree, compilations, moment_errors, observed_orders, pf_ode_errors, setup

from gen_jax.diffusion.schedules import make_schedule
from gen_jax.samplers.karras import euler_ancestral_sample, euler_sample, heun_sample, karras_sigmas

KEY = jax.random.PRNGKey(1)
FNS = {"euler": euler_sample, "heun": heun_sample, "euler_ancestral": euler_ancestral_sample}


def _sampler(name, **options):
    return lambda d, s, x, n, **kw: FNS[name](d, s, x, KEY, n, clip_x0=False, **options, **kw)


def test_sigma_grid_is_karras_eq5_between_the_table_extremes():
    s = make_schedule("linear", 1000)
    sigma_min, sigma_max = float(s.sigmas[0]), float(s.sigmas[-1])
    n, rho = 7, 7.0
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    want = (hi + np.arange(n) / (n - 1) * (lo - hi)) ** rho
    got = [float(karras_sigmas(i, n, s.sigmas[0], s.sigmas[-1], rho)) for i in range(n + 1)]
    np.testing.assert_allclose(got[:n], want, rtol=1e-5)
    assert got[n] == 0.0
    # the model's own range: σ_max at t = T − 1, σ_min at t = 0
    np.testing.assert_allclose(s.sigma_to_t(jnp.array([got[0], got[n - 1]])), [999, 0], atol=1e-3)


@pytest.mark.parametrize("name, options, steps", [
    ("euler", {}, [10, 300]),
    ("heun", {}, [5, 100]),
    ("heun", {"s_churn": 40.0}, [10, 150]),  # stochastic (alg. 2)
    ("euler_ancestral", {}, [10, 600]),
])
def test_samples_converge_to_the_data_distribution(name, options, steps):
    (mean_lo, std_lo), (mean_hi, std_hi) = moment_errors(_sampler(name, **options), steps)
    assert mean_hi < 0.01 and std_hi < 0.006, (mean_hi, std_hi)
    assert std_hi < std_lo / 10, (std_lo, std_hi)


@pytest.mark.parametrize("name, order", [("euler", 1), ("heun", 2)])
def test_order_of_convergence_to_the_exact_pf_ode_solution(name, order):
    # Heun costs 2N − 1 network calls for N steps: 20, 40, 80 steps is 39, 79, 159 calls.
    steps = [20, 40, 80] if name == "heun" else [40, 80, 160]
    errs = pf_ode_errors(_sampler(name), steps)
    orders = observed_orders(errs)
    # measured: euler 0.99, 1.00; heun 2.16, 2.08
    assert np.all(np.abs(orders - order) < (0.2 if order == 1 else 0.4)), (errs, orders)


def test_euler_ancestral_with_eta_0_is_euler():
    schedule, denoise, x_T = setup(8)
    a = _sampler("euler_ancestral", eta=0.0)(denoise, schedule, x_T, 6, debug=True)
    b = _sampler("euler")(denoise, schedule, x_T, 6, debug=True)
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("name, options", [("heun", {"s_churn": 5.0}), ("euler_ancestral", {})])
def test_fori_scan_and_python_loops_agree(name, options):
    check_loops_agree(_sampler(name, **options))


@pytest.mark.parametrize("name, extra", [("heun", "s_churn"), ("euler_ancestral", "eta")])
def test_step_count_and_noise_scalars_are_runtime_values_compiled_once(name, extra):
    sample = lambda d, s, x, n, v: FNS[name](d, s, x, KEY, n, clip_x0=False, **{extra: v})
    args = [(jnp.int32(n), jnp.float32(v)) for n, v in [(3, 0.0), (6, 0.0), (6, 1.0)]]
    n_traces, outs = compilations(sample, args)
    assert n_traces == 1
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[1], outs[2])
