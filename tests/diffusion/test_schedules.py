import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.schedules import beta_schedule, forward_step, make_schedule, q_sample


def test_forward_step_worked_examples():
    # x_t = sqrt(1-b) x_{t-1} + sqrt(b) eps. The issue lists the second example as "b=0.04,
    # eps=1.5 -> 0.79", which holds for x_{t-1}=0.5 (sqrt(.96)*.5 + .2*1.5 = 0.7899); with
    # x_{t-1}=0.8 it would be 1.0838.
    assert float(forward_step(0.8, 0.1, -0.3)) == pytest.approx(0.664, abs=5e-4)
    assert float(forward_step(0.5, 0.04, 1.5)) == pytest.approx(0.79, abs=5e-4)
    assert float(forward_step(0.8, 0.04, 1.5)) == pytest.approx(1.0838, abs=5e-4)


def test_linear_schedule_matches_ddpm_endpoints():
    b = beta_schedule("linear", 1000)
    assert b[0] == pytest.approx(1e-4) and b[-1] == pytest.approx(0.02)
    assert np.all(np.diff(b) > 0)
    # DDPM's T=1000 linear schedule ends near pure noise: alpha_bar_T ~ 4e-5.
    assert np.prod(1 - b) == pytest.approx(4.04e-5, rel=0.02)


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("T", [10, 1000])
def test_alpha_bar_is_decreasing_in_unit_interval(name, T):
    s = make_schedule(name, T)
    a = np.asarray(s.alphas_bar)
    assert np.all(np.diff(a) < 0) and 0 < a[-1] < a[0] <= 1
    assert float(s.alpha_bar(-1)) == 1.0


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_float_timesteps_interpolate_log_alpha_bar_exactly_through_the_table(name):
    s = make_schedule(name, 100)
    k = np.arange(-1, 100)
    w = 0.3
    a_int, a_float, a_between = jax.jit(lambda s: (s.alpha_bar(k), s.alpha_bar(k.astype(np.float32)),
                                                   s.alpha_bar(k[:-1] + np.float32(w))))(s)
    np.testing.assert_array_equal(a_float, a_int)  # bit-exact at whole numbers
    log_a = np.log(np.concatenate([[1.0], np.asarray(s.alphas_bar, np.float64)]))  # from t = −1
    np.testing.assert_allclose(a_between, np.exp((1 - w) * log_a[:-1] + w * log_a[1:]), rtol=5e-5)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_sigma_to_t_inverts_alpha_bar(name):
    t = np.random.default_rng(0).uniform(-1.0, 999.0, 1000).astype(np.float32)

    @jax.jit
    def roundtrip(s):
        a = s.alpha_bar(t)
        t_back = s.sigma_to_t(jnp.sqrt((1 - a) / a))
        return a, t_back, s.alpha_bar(t_back), s.sigma_to_t(s.sigmas[::111]), s.sigma_to_t(0.0)

    a, t_back, a_back, t_table, t_zero = roundtrip(make_schedule(name, 1000))
    np.testing.assert_allclose(a_back, a, rtol=1e-4)
    np.testing.assert_allclose(t_back, t, atol=2e-3)  # float32 t near 1000 has ulp 6e-5
    np.testing.assert_allclose(t_table, np.arange(0, 1000, 111), atol=1e-3)
    assert float(t_zero) == -1.0


def test_cosine_alpha_bar_follows_closed_form():
    T, s0 = 1000, 0.008
    a = np.asarray(make_schedule("cosine", T).alphas_bar, np.float64)
    t = np.arange(1, T + 1) / T
    f = np.cos((t + s0) / (1 + s0) * np.pi / 2) ** 2 / np.cos(s0 / (1 + s0) * np.pi / 2) ** 2
    np.testing.assert_allclose(a[:-5], f[:-5], rtol=1e-4)  # the last few are clipped at beta=0.999


def test_q_sample_moments():
    s = make_schedule("linear", 1000)
    x0 = jnp.full((200_000,), 0.7)
    for t in (0, 250, 999):
        eps = jax.random.normal(jax.random.PRNGKey(t), x0.shape)
        x_t = q_sample(s, x0, jnp.full(x0.shape, t), eps)
        a = float(s.alphas_bar[t])
        assert float(x_t.mean()) == pytest.approx(np.sqrt(a) * 0.7, abs=0.01)
        assert float(x_t.var()) == pytest.approx(1 - a, abs=0.01)


def test_chain_of_forward_steps_equals_closed_form_marginal():
    """Iterating x_t = sqrt(1-b_t) x_{t-1} + sqrt(b_t) eps t times has the q(x_t|x0) moments."""
    s = make_schedule("cosine", 50)
    x = jnp.full((100_000,), -0.5)
    key = jax.random.PRNGKey(0)
    for t in range(30):
        x = forward_step(x, s.betas[t], jax.random.normal(jax.random.fold_in(key, t), x.shape))
    a = float(s.alphas_bar[29])
    assert float(x.mean()) == pytest.approx(-0.5 * np.sqrt(a), abs=0.01)
    assert float(x.var()) == pytest.approx(1 - a, abs=0.01)


def test_bad_schedule_arguments():
    with pytest.raises(ValueError, match="unknown beta schedule 'quadratic'"):
        beta_schedule("quadratic", 10)
    with pytest.raises(ValueError, match="num_timesteps"):
        beta_schedule("linear", 0)
