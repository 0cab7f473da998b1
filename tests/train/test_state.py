"""make_optimizer's learning-rate schedules."""

import jax.numpy as jnp
import numpy as np

from gen_jax.train.state import make_optimizer


def test_cosine_decay_without_warmup_starts_at_the_full_rate():
    # a 1-step warm-up here used to give step 0 a learning rate of 0 (CycleGAN's config lost its
    # first update)
    tx, schedule = make_optimizer(2e-4, warmup_steps=0, grad_clip=None, decay_steps=200)
    np.testing.assert_allclose([schedule(0), schedule(100), schedule(200)], [2e-4, 1e-4, 0.0], atol=1e-12)
    params = {"w": jnp.ones(3)}
    updates, _ = tx.update({"w": jnp.ones(3)}, tx.init(params), params)
    np.testing.assert_allclose(updates["w"], -2e-4, rtol=1e-5)  # Adam's first step: -lr·sign(g)


def test_cosine_decay_with_warmup_ramps_from_zero():
    _, schedule = make_optimizer(1e-3, warmup_steps=10, decay_steps=110)
    np.testing.assert_allclose([schedule(0), schedule(5), schedule(10), schedule(60), schedule(110)],
                               [0.0, 5e-4, 1e-3, 5e-4, 0.0], atol=1e-9)
