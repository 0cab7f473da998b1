"""Data x0 ~ N(mu, s²) per pixel: the exact denoiser and the exact probability-flow ODE map, and the
checks every sampler's tests share. No network: everything is analytic and tiny."""

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.diffusion.schedules import make_schedule

MU, S = 0.5, 0.3


def gaussian_denoiser(schedule, mu=MU, s=S):
    """Exact E[x0 | x_t] for x0 ~ N(mu, s²): the posterior of a Gaussian prior. t: int or float [B]."""

    def denoise(x_t, t):
        a = schedule.alpha_bar(t)[:, None, None, None]
        x0 = mu + jnp.sqrt(a) * s**2 / (a * s**2 + 1 - a) * (x_t - jnp.sqrt(a) * mu)
        eps = (x_t - jnp.sqrt(a) * x0) / jnp.sqrt(1 - a)
        return x0, eps

    return denoise


def pf_ode_exact(x, sigma_from, sigma_to, mu=MU, s=S):
    """The probability-flow ODE dx/dσ = (x − D(x; σ))/σ of x = x_t/√ᾱ (Karras et al. 2022, sec. 2)
    solved exactly from sigma_from to sigma_to: D is affine, so x − mu scales by √(s² + σ²)."""
    return mu + jnp.sqrt((s**2 + sigma_to**2) / (s**2 + sigma_from**2)) * (x - mu)


def setup(batch=4000, shape=(2, 2, 1)):
    """The linear T = 1000 schedule, its exact denoiser for N(MU, S²), and x_T ~ N(0, I)."""
    schedule = make_schedule("linear", 1000)
    x_T = jax.random.normal(jax.random.PRNGKey(0), (batch, *shape))
    return schedule, gaussian_denoiser(schedule), x_T


def moment_errors(sample, steps, batch=4000, shape=(2, 2, 1)):
    """[(|mean − MU|, |std − S|)] of sample(denoise, schedule, x_T, num_steps) for each step count
    (one compilation: num_steps is a runtime value)."""
    schedule, denoise, x_T = setup(batch, shape)
    run = jax.jit(lambda x, n: sample(denoise, schedule, x, n))
    out = []
    for n in steps:
        x = run(x_T, jnp.int32(n))
        out.append((abs(float(x.mean()) - MU), abs(float(x.std()) - S)))
    return out


# Order of accuracy. Grids that end at t = 0 (σ_min = σ_0: the Karras grid, and "linspace" timestep
# spacing) are all followed by the same first-order step x0 = D(x; σ_min), so as num_steps grows every
# sampler tends to D(exact ODE solution at σ_min; σ_min): that is the reference. (With "trailing"
# spacing the last step starts from t = T/N − 1, and its own O(σ²) ∝ 1/N error would mask the
# solver's order.) s = 0.5 makes the solution's curvature lie where the grids have enough points
# for the asymptotic order to show at 40 network calls.
ORDER_MU, ORDER_S = 0.5, 0.5


def pf_ode_errors(sample, steps):
    """RMS error of the deterministic sample(denoise, schedule, x_T, num_steps) -> x0 against the
    reference above, for each step count; x_T spans [−3, 3] at t = T − 1."""
    schedule = make_schedule("linear", 1000)
    denoise = gaussian_denoiser(schedule, ORDER_MU, ORDER_S)
    x_T = jnp.linspace(-3.0, 3.0, 64).reshape(64, 1, 1, 1)
    sigma_min, sigma_max = schedule.sigmas[0], schedule.sigmas[-1]
    x = pf_ode_exact(x_T / jnp.sqrt(schedule.alphas_bar[-1]), sigma_max, sigma_min, ORDER_MU, ORDER_S)
    ref = ORDER_MU + ORDER_S**2 / (ORDER_S**2 + sigma_min**2) * (x - ORDER_MU)
    run = jax.jit(lambda x, n: sample(denoise, schedule, x, n))
    return [float(jnp.sqrt(jnp.mean(jnp.square(run(x_T, jnp.int32(n)) - ref)))) for n in steps]


def observed_orders(errs):
    """log2 of successive error ratios: the order p when each step count doubles the last."""
    errs = np.asarray(errs)
    return np.log2(errs[:-1] / errs[1:])


def check_loops_agree(sample, num_steps=5, batch=8):
    """fori_loop, lax.scan (with trajectory) and the debug Python loop give the same samples."""
    schedule, denoise, x_T = setup(batch)
    fn = lambda **kw: sample(denoise, schedule, x_T, num_steps, **kw)
    fori = fn()
    final, traj = fn(return_trajectory=True)
    debug = fn(debug=True)
    assert traj.shape == (num_steps, *x_T.shape)
    np.testing.assert_allclose(traj[-1], fori, atol=1e-5)
    np.testing.assert_allclose(final, fori, atol=1e-5)
    np.testing.assert_allclose(debug, fori, atol=1e-4)


def compilations(sample, runtime_args):
    """How many times jit traces sample(denoise, schedule, x_T, *args) over the list of argument
    tuples (runtime values: num_steps first), and the outputs."""
    schedule, denoise, x_T = setup(8)
    traces = []

    @jax.jit
    def run(x, *args):
        traces.append(1)
        return sample(denoise, schedule, x, *args)

    outs = [run(x_T, *args) for args in runtime_args]
    return len(traces), outs
