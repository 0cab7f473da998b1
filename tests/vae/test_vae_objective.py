import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import build
from experiments.configs import vae_default
from gen_jax.vae.objective import gaussian_kl, lerp, reconstruction_nll, reparameterize, slerp


def test_kl_of_a_known_gaussian_equals_the_closed_form():
    # KL(N(1, e) || N(0, 1)) = ½(μ² + σ² − 1 − log σ²) = ½(1 + e − 1 − 1) = (e − 1)/2 per dimension
    mu, logvar = jnp.ones((1, 3)), jnp.ones((1, 3))
    np.testing.assert_allclose(gaussian_kl(mu, logvar), [1.5 * (np.e - 1)], rtol=1e-6)
    np.testing.assert_allclose(gaussian_kl(jnp.zeros((2, 5)), jnp.zeros((2, 5))), [0, 0], atol=0)
    # and it matches a Monte-Carlo estimate of E_q[log q(z) − log p(z)] with reparameterised z
    mu, logvar = jnp.array([[0.5, -1.0]]), jnp.array([[-0.7, 0.4]])
    z = reparameterize(jax.random.PRNGKey(0), jnp.broadcast_to(mu, (200_000, 2)),
                       jnp.broadcast_to(logvar, (200_000, 2)))
    log_q = -0.5 * ((z - mu) ** 2 / jnp.exp(logvar) + logvar)
    log_p = -0.5 * z ** 2
    np.testing.assert_allclose(jnp.mean(jnp.sum(log_q - log_p, -1)), gaussian_kl(mu, logvar)[0], rtol=0.02)


def test_reconstruction_nll_known_values():
    x = jnp.array([-1.0, 1.0]).reshape(1, 1, 2, 1)
    # Bernoulli with logits 0: log 2 per pixel; Gaussian with σ = 0.1 and error 0.1: ½ per pixel
    np.testing.assert_allclose(reconstruction_nll(jnp.zeros_like(x), x, "bernoulli"), [2 * np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(reconstruction_nll(x + 0.1, x, "gaussian", 0.1), [1.0], rtol=1e-5)


def test_slerp_and_lerp_endpoints_and_slerp_keeps_the_norm():
    a, b = jnp.array([1.0, 0.0, 0.0]), jnp.array([0.0, 2.0, 0.0])
    w = jnp.array([0.0, 0.5, 1.0])
    for fn in (slerp, lerp):
        z = fn(a, b, w)
        np.testing.assert_allclose(z[0], a, atol=1e-6)
        np.testing.assert_allclose(z[-1], b, atol=1e-6)
    # halfway along the arc between orthogonal vectors: sin(π/4)/sin(π/2)·(a + b)
    np.testing.assert_allclose(slerp(a, b, w)[1], np.sqrt(0.5) * np.array([1.0, 2.0, 0.0]), atol=1e-6)
    np.testing.assert_allclose(lerp(a, b, w)[1], [0.5, 1.0, 0.0], atol=1e-6)


@pytest.fixture(scope="module")
def trained():
    """A tiny VAE on 8x8 digits, 30 Adam steps on one fixed batch: (objective, state, losses, x)."""
    from gen_jax.data import load_dataset

    c = vae_default.get_config("smoke")
    c.optim.learning_rate = 3e-3
    obj = build.objective(c, (8, 8, 1), None)
    x = jnp.asarray(load_dataset("digits").images[:16])
    state = obj.init(jax.random.PRNGKey(0))
    step = jax.jit(obj.step)
    losses = []
    for _ in range(30):
        state, m = step(state, {"image": x})
        losses.append(float(m["loss"]))
    return obj, state, losses, x


def test_loss_decreases_on_digits(trained):
    _, _, losses, _ = trained
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5]), losses


def test_sample_interpolate_and_mix_shapes_ranges_and_endpoints(trained):
    obj, state, _, x = trained
    p = state.params
    s = obj.sample(p, jax.random.PRNGKey(1), 5)
    assert s.shape == (5, 8, 8, 1) and float(jnp.abs(s).max()) <= 1.0
    # per-sample keys: sample b depends only on its key
    keys = jax.random.split(jax.random.PRNGKey(1), 5)
    np.testing.assert_allclose(obj.sample(p, keys[1:3]), s[1:3], atol=1e-6)
    rec = obj.reconstruct(p, x[:4])
    path = obj.interpolate(p, x[0], x[1], num=4)
    assert path.shape == (4, 8, 8, 1)
    np.testing.assert_allclose(path[0], rec[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], rec[1], atol=1e-5)
    d = obj.model.latent_dim
    mask = jnp.arange(d) < d // 2
    mixed = obj.mix(p, x[:2], x[2:4], mask)
    mu = obj.encode(p, x[:4])[0]
    np.testing.assert_allclose(mixed, obj.decode(p, jnp.concatenate([mu[:2, :d // 2], mu[2:4, d // 2:]], 1)),
                               atol=1e-6)
    assert float(jnp.abs(mixed - rec[:2]).max()) > 1e-3 and float(jnp.abs(mixed - rec[2:4]).max()) > 1e-3


def test_vae_smoke_config_trains_through_main_run_and_writes_samples(tmp_path):
    from experiments.train import run

    state = run(vae_default.get_config("smoke"), str(tmp_path), progress=False)
    assert int(state.step) == 2
    assert (tmp_path / "samples.png").exists() and (tmp_path / "checkpoints" / "2").exists()


@pytest.mark.parametrize("field,value,msg", [
    ("objective.likelihood", "laplace", "config.objective.likelihood"),
    ("model.latent_dim", 0, "config.model.latent_dim"),
    ("model.channel_mult", (1, 2, 2, 2), "config.model.channel_mult"),
])
def test_bad_vae_fields_are_named(field, value, msg):
    c = vae_default.get_config("smoke")
    section, key = field.split(".")
    c[section][key] = value
    with pytest.raises(ValueError, match=msg):
        build.objective(c, (8, 8, 1), None)
