"""Training on reflow pairs: the given noise is the loss's coupling, the pairs reach the step through
a config (data.pairs) and the one training loop, and a reflowed toy flow is straighter."""

import json
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import reflow_mnist
from gen_jax.data.pairs import save_pairs
from gen_jax.data.pipeline import EpochSampler
from gen_jax.data.toy import toy_2d
from gen_jax.diffusion.objective import process_loss
from gen_jax.diffusion.process import PREDICTIONS, PROCESSES, from_x0_eps, make_process
from gen_jax.flow.objective import FlowObjective
from gen_jax.flow.rectified_flow import flow_matching_loss
from gen_jax.flow.reflow import generate_pairs, straightness
from gen_jax.train.loop import train
from gen_jax.train.state import make_optimizer


def test_given_noise_is_the_coupling_of_every_loss():
    """With batch noise z, the oracle that knows z has loss exactly 0 (flow loss and the general
    loss for every process and target); with fresh noise it does not."""
    x0 = jax.random.normal(jax.random.PRNGKey(0), (8, 2))
    z = jax.random.normal(jax.random.PRNGKey(1), (8, 2))
    key = jax.random.PRNGKey(2)
    oracle = lambda x_t, t: z - x0
    assert float(flow_matching_loss(oracle, x0, key, noise=z)) == 0.0
    assert float(flow_matching_loss(oracle, x0, key)) > 0.1
    for name in PROCESSES:
        process = make_process(name)
        for p in PREDICTIONS:
            model = lambda x_t, t: from_x0_eps(p, x0, z, *(c[:, None] for c in process.coefficients(t)))
            loss = process_loss(model, process, p, x0, key, noise=z)
            assert float(loss) < 1e-10, (name, p, float(loss))


class MLP(nn.Module):
    """A velocity net for 2-D points with the U-Net's call signature."""

    @nn.compact
    def __call__(self, x, t, labels=None, train=False):
        h = jnp.concatenate([x, jnp.sin(3.0 * t[:, None] * jnp.arange(1, 5)), jnp.cos(3.0 * t[:, None] * jnp.arange(1, 5))], -1)
        for _ in range(3):
            h = nn.silu(nn.Dense(64)(h))
        return nn.Dense(2)(h)


def test_reflow_straightens_a_toy_flow(tmp_path):
    """1-RF on two moons, then 2-RF fine-tuned on 1-RF's own (noise, sample) pairs through the
    training loop (batch "noise"): the straightness S (Liu et al. def. 2.3) of 2-RF is less than
    half that of 1-RF, and its 1-step samples are closer to 1-RF's
    many-step ones."""
    tx, lr = make_optimizer(3e-3, warmup_steps=10)
    flow = FlowObjective(model=MLP(), image_shape=(2,), tx=tx, lr_schedule=lr, time_sampling="uniform",
                         time_scale=1.0, ema_decay=0.0)
    data = toy_2d("moons", 2000) / 4.0  # within [-1, 1]: samples are clipped there
    kw = dict(batch_size=256, ckpt_every=0, log_every=100, progress=False)
    s1 = train(flow, data, None, workdir=str(tmp_path / "rf1"), num_steps=600, **kw)
    z, x, _ = generate_pairs(flow, s1.params, 2000, sampler="rf_heun", num_steps=20, seed=1)
    s2 = train(flow, x, None, workdir=str(tmp_path / "rf1"), num_steps=1200, extras={"noise": z}, **kw)
    z_test = flow.noise(jax.random.PRNGKey(5), 500)
    s_1 = float(jnp.mean(straightness(flow.velocity(s1.params), z_test, 32)))
    s_2 = float(jnp.mean(straightness(flow.velocity(s2.params), z_test, 32)))
    assert s_2 < 0.5 * s_1, (s_1, s_2)
    ref = flow.sample(s1.params, jax.random.PRNGKey(5), 500, num_steps=32)  # the 1-RF coupling
    err1 = jnp.mean((flow.sample(s1.params, jax.random.PRNGKey(5), 500, num_steps=1) - ref) ** 2)
    err2 = jnp.mean((flow.sample(s2.params, jax.random.PRNGKey(5), 500, num_steps=1) - ref) ** 2)
    assert err2 < err1, (float(err1), float(err2))


def test_reflow_config_feeds_the_pairs(tmp_path):
    """reflow_mnist:smoke with data.pairs trains 2 steps through experiments.train.run, and its first
    loss is mean((z − x)²) of the pairs in batch 0: the zero-initialised U-Net predicts v = 0,
    so the loss shows that the step regressed onto the given z."""
    from experiments.train import run

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 8, 8, 1)).astype(np.float32)
    z = rng.standard_normal((40, 8, 8, 1)).astype(np.float32)
    path = save_pairs(str(tmp_path / "pairs.npz"), z, x, None, "digits", None)
    c = reflow_mnist.get_config("smoke")
    c.data.pairs = path
    run(c, str(tmp_path / "rf2"), progress=False)
    logs = [json.loads(l) for l in (tmp_path / "rf2" / "logs" / "metrics.jsonl").read_text().splitlines()]
    idx = EpochSampler(40, c.train.batch_size, c.seed).indices(0)
    np.testing.assert_allclose(logs[0]["loss"], np.mean((z[idx] - x[idx]) ** 2), rtol=1e-5)
