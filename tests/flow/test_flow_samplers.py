"""Flow ODE samplers against the exact RF velocity of Gaussian data (tests/flow/gaussian_flow.py)."""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gaussian_flow import endpoint, velocity  # noqa: E402

from gen_jax.flow.samplers import euler_sample, heun_sample, time_grid  # noqa: E402
from gen_jax.samplers.registry import SAMPLERS  # noqa: E402

RF = sorted(k for k, spec in SAMPLERS.items() if spec.view == "rf")  # rf_euler, rf_heun

X1 = jax.random.normal(jax.random.PRNGKey(0), (16, 4, 4, 1))
STEPS = np.array([16, 32, 64, 128])


def _order(sample, shift=1.0):
    run = jax.jit(lambda n: sample(velocity, X1, n, shift=shift))
    errs = [float(jnp.max(jnp.abs(run(jnp.int32(n)) - endpoint(X1)))) for n in STEPS]
    return -np.polyfit(np.log(STEPS), np.log(errs), 1)[0], errs


def test_euler_converges_with_order_one_to_the_exact_endpoint():
    order, errs = _order(euler_sample)
    assert 0.9 < order < 1.1, (order, errs)   # measured 0.98
    assert errs[-1] < 0.02


def test_heun_converges_with_order_two_to_the_exact_endpoint():
    order, errs = _order(heun_sample)
    assert 1.8 < order < 2.2, (order, errs)   # measured 1.93
    assert errs[-1] < 1e-4


def test_shifted_grid_is_sd3_formula_and_still_converges():
    # t' = s·t/(1 + (s − 1)·t) at t = 1/2, s = 3: 0.75
    np.testing.assert_allclose(time_grid(2, 4, 3.0), 0.75, rtol=1e-6)
    np.testing.assert_allclose(time_grid(0, 4, 3.0), 1.0)
    np.testing.assert_allclose(time_grid(4, 4, 3.0), 0.0)
    order, errs = _order(euler_sample, shift=3.0)
    assert 0.85 < order < 1.15 and errs[-1] < 0.04, (order, errs)


@pytest.mark.parametrize("name", RF)
def test_fori_scan_and_debug_loops_agree(name):
    fn = lambda **kw: SAMPLERS[name].fn(velocity, X1, 5, shift=2.0, **kw)
    fori = fn()
    final, traj = fn(return_trajectory=True)
    assert traj.shape == (5, *X1.shape)
    np.testing.assert_allclose(final, fori, atol=1e-5)
    np.testing.assert_allclose(traj[-1], fori, atol=1e-5)
    np.testing.assert_allclose(fn(debug=True), fori, atol=1e-5)


@pytest.mark.parametrize("name", RF)
def test_step_count_and_shift_are_runtime_values_compiled_once(name):
    traces = []

    @jax.jit
    def run(n, shift):
        traces.append(1)
        return SAMPLERS[name].fn(velocity, X1, n, shift=shift)

    outs = [run(jnp.int32(n), jnp.float32(s)) for n, s in ((3, 1.0), (6, 1.0), (10, 3.0))]
    assert len(traces) == 1
    assert not np.allclose(outs[0], outs[1])
