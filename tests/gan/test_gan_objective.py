"""The alternating GAN step: update counts, scan == Python loop, sampling keys, learning a toy
2-D Gaussian, and divergence handling through the shared loop."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gen_jax.gan.objective import GANObjective
from gen_jax.nn.dcgan import Discriminator, Generator
from gen_jax.train import checkpoint
from gen_jax.train.loop import DivergenceError, train
from gen_jax.train.state import make_optimizer


class MLP(nn.Module):
    out: int
    hidden: int = 32

    @nn.compact
    def __call__(self, x, labels=None, train=False):
        h = nn.leaky_relu(nn.Dense(self.hidden)(x), 0.2)
        h = nn.leaky_relu(nn.Dense(self.hidden)(h), 0.2)
        y = nn.Dense(self.out)(h)
        return y[:, 0] if self.out == 1 else y


def _opt(lr):
    return make_optimizer(lr, grad_clip=None, b1=0.5)


def toy_objective(loss="nonsaturating", n_critic=1, lr=2e-3):
    (tx_g, s_g), (tx_d, s_d) = _opt(lr), _opt(lr)
    return GANObjective(generator=MLP(2), discriminator=MLP(1), image_shape=(2,), tx_g=tx_g,
                        tx_d=tx_d, lr_schedule_g=s_g, lr_schedule_d=s_d, z_dim=4, loss=loss,
                        n_critic=n_critic, ema_decay=0.9)


def dcgan_objective(loss="wgan-gp", n_critic=2, lr=1e-3, num_classes=None, spectral_norm=False,
                    diffaugment=""):
    """Batch norm in G; D optionally spectrally normalised."""
    (tx_g, s_g), (tx_d, s_d) = _opt(lr), _opt(lr)
    return GANObjective(generator=Generator((8, 8, 1), channels=4, num_classes=num_classes),
                        discriminator=Discriminator(4, num_classes, spectral_norm),
                        image_shape=(8, 8, 1), tx_g=tx_g, tx_d=tx_d, lr_schedule_g=s_g,
                        lr_schedule_d=s_d, z_dim=8, loss=loss, n_critic=n_critic,
                        r1_gamma=0.1, num_classes=num_classes, diffaugment=diffaugment)


def _batch(n=4, seed=0):
    x = jax.random.uniform(jax.random.PRNGKey(seed), (n, 8, 8, 1), minval=-1, maxval=1)
    return {"image": x, "label": jnp.arange(n) % 3}


def _counts(opt_state):
    adam = lambda s: isinstance(s, optax.ScaleByAdamState)  # noqa: E731
    return [int(s.count) for s in jax.tree.leaves(opt_state, is_leaf=adam) if adam(s)]


def test_one_step_updates_d_n_critic_times_and_g_once():
    obj = dcgan_objective(n_critic=3, num_classes=3)
    s0 = obj.init(jax.random.PRNGKey(0))
    s1, m = jax.jit(obj.step)(s0, _batch())
    assert _counts(s1.opt_state["d"]) == [3] and _counts(s1.opt_state["g"]) == [1]
    assert int(s1.step) == 1
    for part in ("g", "d"):
        diff = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), s0.params[part], s1.params[part])
        assert max(jax.tree.leaves(diff)) > 0
    # the Wasserstein loss and its penalties do not depend on D's output bias: not moved
    assert float(jnp.max(jnp.abs(s1.params["d"]["Dense_0"]["bias"] - s0.params["d"]["Dense_0"]["bias"]))) == 0
    assert set(m) >= {"loss", "g_loss", "d_loss", "d_real", "d_fake", "penalty"}
    assert float(m["penalty"]) > 0 and float(m["loss"]) == float(m["g_loss"])


def test_d_fake_prob_is_sigmoid_of_a_constant_critic():
    # D's last layer zeroed but its bias b: f = b for every input, so D(G(z)) = σ(b) exactly
    obj = toy_objective("minimax")
    s0 = obj.init(jax.random.PRNGKey(0))
    last = s0.params["d"]["Dense_2"]
    d = {**s0.params["d"], "Dense_2": {"kernel": jnp.zeros_like(last["kernel"]),
                                        "bias": jnp.full_like(last["bias"], -3.0)}}
    batch = {"image": jnp.ones((8, 2))}
    _, m = jax.jit(obj.step)(s0.replace(params={**s0.params, "d": d}), batch)
    assert float(m["d_fake"]) == pytest.approx(-3.0)
    assert float(m["d_fake_prob"]) == pytest.approx(float(jax.nn.sigmoid(-3.0)), rel=1e-6)
    # a Wasserstein critic's value is no logit: no D(G(z)) metric (traced only)
    w = toy_objective("wgan-gp")
    assert "d_fake_prob" not in jax.eval_shape(w.step, w.init(jax.random.PRNGKey(0)), batch)[1]


def test_scan_step_equals_python_loop_step():
    obj = dcgan_objective("hinge", n_critic=2, spectral_norm=True, diffaugment="color,translation,cutout")
    s0 = obj.init(jax.random.PRNGKey(0))
    a, ma = jax.jit(obj.step)(s0, _batch())
    b, mb = jax.jit(lambda s, x: obj.step(s, x, debug=True))(s0, _batch())
    for x, y in zip(jax.tree.leaves((a, ma)), jax.tree.leaves((b, mb))):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def _max_change(a, b):
    return max(jax.tree.leaves(jax.tree.map(lambda x, y: float(jnp.max(jnp.abs(x - y))), a, b)))


def test_network_state_is_updated_and_sampling_reads_the_ema_variables():
    obj = dcgan_objective(loss="hinge", n_critic=2, spectral_norm=True)
    s0 = obj.init(jax.random.PRNGKey(0))
    assert set(s0.model_state["g"]) == {"batch_stats"} and set(s0.model_state["d"]) == {"spectral"}
    assert set(s0.ema_params) == {"params", "batch_stats"}
    s1, _ = jax.jit(obj.step)(s0, _batch())
    assert _max_change(s0.model_state["g"], s1.model_state["g"]) > 0   # BN running statistics
    assert _max_change(s0.model_state["d"], s1.model_state["d"]) > 0   # power-iteration vectors
    # EMA warm-up at step 0: decay min(0.999, 1/10), so ema = 0.1·old + 0.9·new for the BN stats too
    expect = jax.tree.map(lambda e, n: 0.1 * e + 0.9 * n, s0.ema_params["batch_stats"], s1.model_state["g"]["batch_stats"])
    assert _max_change(expect, s1.ema_params["batch_stats"]) < 1e-6
    x = obj.sample(s1.ema_params, jax.random.PRNGKey(1), 3)
    np.testing.assert_allclose(x, obj.sample(s1.ema_params, jax.random.PRNGKey(1), 5)[:3], atol=1e-6)


def test_sample_i_does_not_depend_on_the_batch_size():
    obj = dcgan_objective()
    p = obj.init(jax.random.PRNGKey(0)).ema_params
    key = jax.random.PRNGKey(3)
    x3, x5 = obj.sample(p, key, 3), obj.sample(p, key, 5)
    assert x3.shape == (3, 8, 8, 1) and float(jnp.max(jnp.abs(x5))) <= 1
    np.testing.assert_allclose(x3, x5[:3], atol=1e-6)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(3))
    np.testing.assert_allclose(obj.sample(p, keys), x3, atol=1e-6)  # per-sample keys: the same
    with pytest.raises(TypeError, match="sampler"):  # a GAN has no sampler: never silently ignored
        obj.sample(p, key, 5, sampler="ddim", num_steps=7)


def test_toy_gan_moves_samples_to_the_data_mean():
    # Data N((2, -1), 0.1² I); G starts near 0. 60 steps bring the mean of G's EMA close
    # (measured: 2.05 -> 0.06; the raw G oscillates more, as GANs do).
    mu = jnp.array([2.0, -1.0])
    obj = toy_objective("nonsaturating", lr=1e-2)
    state = obj.init(jax.random.PRNGKey(0))
    step = jax.jit(obj.step)
    key = jax.random.PRNGKey(1)
    dist0 = float(jnp.linalg.norm(obj.sample(state.ema_params, key, 256).mean(0) - mu))
    for i in range(60):
        real = mu + 0.1 * jax.random.normal(jax.random.fold_in(key, i), (64, 2))
        state, m = step(state, {"image": real})
    dist = float(jnp.linalg.norm(obj.sample(state.ema_params, key, 256).mean(0) - mu))
    assert dist0 > 1.5 and dist < 0.15 * dist0, (dist0, dist)


def test_divergence_raises_and_keeps_no_nan_checkpoint(tmp_path):
    # lr = 1e30 blows the first update up: the loop stops at step 1 and saves nothing.
    obj = dcgan_objective(loss="nonsaturating", n_critic=1, lr=1e30)
    x = np.asarray(_batch(16)["image"])
    with pytest.raises(DivergenceError, match="non-finite loss .* at step 1"):
        train(obj, x, None, workdir=str(tmp_path), num_steps=6, batch_size=4, log_every=1,
              ckpt_every=1, progress=False)
    assert checkpoint.manager(str(tmp_path / "checkpoints")).latest_step() is None
