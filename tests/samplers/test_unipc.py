import jax
import jax.numpy as jnp
import numpy as np
from analytic import check_loops_agree, compilations, moment_errors, observed_orders, pf_ode_errors, setup

from gen_jax.samplers import ddim_sample
from gen_jax.samplers.unipc import unipc_sample

KEY = jax.random.PRNGKey(1)


def _sampler(**options):
    return lambda d, s, x, n, **kw: unipc_sample(d, s, x, KEY, n, clip_x0=False, **options, **kw)


def test_samples_converge_to_the_data_distribution():
    (mean_lo, std_lo), (mean_hi, std_hi) = moment_errors(_sampler(), [5, 100])
    assert mean_hi < 0.01 and std_hi < 0.006, (mean_hi, std_hi)
    assert std_hi < std_lo / 10, (std_lo, std_hi)


def test_at_least_second_order_convergence_to_the_exact_pf_ode_solution():
    errs = pf_ode_errors(_sampler(spacing="linspace"), [40, 80, 160])
    orders = observed_orders(errs)
    # measured: 2.13, 2.19 (UniP-2 is DPM-Solver++(2M); UniC adds accuracy at no extra call)
    assert np.all((orders > 1.6) & (orders < 3.2)), (errs, orders)


def test_with_two_steps_it_is_ddim():
    """Step 0 predicts to first order (DDIM); step 1 is the last, whose first-order prediction
    x0 = m_1 does not use the corrected x_1: two DDIM steps."""
    schedule, denoise, x_T = setup(8)
    got = _sampler()(denoise, schedule, x_T, 2, debug=True)
    want = ddim_sample(denoise, schedule, x_T, KEY, 2, 0.0, clip_x0=False, debug=True)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_fori_scan_and_python_loops_agree():
    check_loops_agree(_sampler())


def test_step_count_is_a_runtime_value_compiled_once():
    n_traces, outs = compilations(_sampler(), [(jnp.int32(n),) for n in (3, 6, 10)])
    assert n_traces == 1
    assert not np.allclose(outs[0], outs[1])
