import jax
import jax.numpy as jnp
import numpy as np
from analytic import check_loops_agree, compilations, moment_errors

from gen_jax.samplers.pc import pc_sample

KEY = jax.random.PRNGKey(1)


def _sampler(**options):
    return lambda d, s, x, n, **kw: pc_sample(d, s, x, KEY, n, clip_x0=False, **options, **kw)


def test_samples_converge_to_the_data_distribution():
    # 16×16 samples: the corrector's step size uses per-sample norms, which need a few pixels.
    (mean_lo, std_lo), (mean_hi, std_hi) = moment_errors(_sampler(snr=0.16), [10, 300], 64, (16, 16, 1))
    assert mean_hi < 0.01 and std_hi < 0.006, (mean_hi, std_hi)
    assert std_hi < std_lo / 5, (std_lo, std_hi)


def test_fori_scan_and_python_loops_agree():
    check_loops_agree(_sampler(n_corrector=2))


def test_step_count_snr_and_corrector_steps_are_runtime_values_compiled_once():
    sample = lambda d, s, x, n, snr, k: pc_sample(d, s, x, KEY, n, snr=snr, n_corrector=k, clip_x0=False)
    args = [(jnp.int32(n), jnp.float32(snr), jnp.int32(k))
            for n, snr, k in [(3, 0.16, 1), (6, 0.16, 1), (6, 0.3, 2)]]
    n_traces, outs = compilations(sample, args)
    assert n_traces == 1
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[1], outs[2])
