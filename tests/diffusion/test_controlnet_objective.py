"""The ControlNet objective: a training step moves only the ControlNet (the base parameters come
back bit-identical), and at initialisation its samples are the base model's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.controlnet_objective import ControlNetObjective
from gen_jax.diffusion.objective import DiffusionObjective
from gen_jax.diffusion.schedules import make_schedule
from gen_jax.nn.controlnet import controlnet_for
from gen_jax.nn.unet import UNet
from gen_jax.train.state import make_optimizer

SHAPE = (8, 8, 1)


@pytest.fixture(scope="module")
def objective():
    unet = UNet(channels=8, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(),
                num_heads=1, num_classes=3)
    tx, lr = make_optimizer(1e-2)
    base = DiffusionObjective(model=unet, schedule=make_schedule("linear", 20), image_shape=SHAPE,
                              tx=tx, lr_schedule=lr, num_classes=3, cond_drop_prob=0.2)
    params = jax.jit(base.init)(jax.random.PRNGKey(0)).params
    leaves, tree = jax.tree.flatten(params)  # as if trained: off the zero initialisation
    keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
    params = tree.unflatten([p + 0.05 * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)])
    return ControlNetObjective(base=base, controlnet=controlnet_for(unet, 4), base_params=params,
                               tx=tx, lr_schedule=lr, condition="edges")


def _images(n):
    """Bright squares at different places: images with edges."""
    x = -jnp.ones((n, *SHAPE))
    return jnp.stack([x[i].at[1 + i: 5 + i, 2:6].set(1.0) for i in range(n)])


def test_a_step_trains_only_the_controlnet(objective):
    state = jax.jit(objective.init)(jax.random.PRNGKey(2))
    before = jax.device_get(state)
    batch = {"image": _images(3), "label": jnp.array([0, 1, 2])}
    step = jax.jit(objective.step)
    for _ in range(2):
        state, metrics = step(state, batch)
    assert np.isfinite(metrics["loss"]) and float(metrics["grad_norm"]) > 0
    for tree in (state.params["base"], state.ema_params["base"]):
        for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(before.params["base"])):
            np.testing.assert_array_equal(np.asarray(a).view(np.uint32), np.asarray(b).view(np.uint32))
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), state.params["control"],
                         before.params["control"])
    assert moved["zero_convs"]["Conv_0"]["kernel"] > 0  # the zero convolutions left zero
    assert int(state.step) == 2


def test_initial_samples_are_the_base_models_with_guidance(objective):
    """Zero convolutions: the combined model samples exactly what the base does (DDIM, classifier-
    free guidance w = 2, whose doubled batch also takes the condition map)."""
    state = jax.jit(objective.init)(jax.random.PRNGKey(2))
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    labels = jnp.array([0, 2])
    opts = dict(sampler="ddim", num_steps=3, labels=labels, guidance=2.0)
    ours = jax.jit(lambda p, k: objective.sample(p, k, control_image=_images(1)[0], **opts))(
        state.ema_params, keys)
    base = jax.jit(lambda p, k: objective.base.sample(p, k, **opts))(objective.base_params, keys)
    np.testing.assert_allclose(ours, base, atol=1e-5)
    assert float(jnp.abs(base).mean()) > 0.1


def test_each_sample_follows_its_own_condition_map(objective):
    """The map is an input, not a parameter (params hold {"base", "control"} only): with the zero
    convolutions moved off zero and guidance w = 2 (a doubled batch), sampling two maps together
    gives each one's sample alone (to 1e-6), and the two maps give different samples."""
    state = jax.jit(objective.init)(jax.random.PRNGKey(2))
    assert set(state.params) == set(state.ema_params) == {"base", "control"}
    control = state.params["control"]
    k1, k2 = jax.random.split(jax.random.PRNGKey(4))
    control = dict(control, zero_convs=jax.tree.map(lambda p: 0.1 * jax.random.normal(k1, p.shape),
                                                    control["zero_convs"]),
                   hint_encoder=jax.tree.map(lambda p: p + 0.1 * jax.random.normal(k2, p.shape),
                                             control["hint_encoder"]))
    params = {"base": state.params["base"], "control": control}
    hint = objective.hint(_images(2))
    keys = jnp.stack([jax.random.PRNGKey(5)] * 2)  # the same noise: only the map differs
    labels = jnp.array([1, 1])
    sample = jax.jit(lambda h, k, y: objective.sample(params, k, hint=h, sampler="ddim", num_steps=2,
                                                      labels=y, guidance=2.0))
    both = sample(hint, keys, labels)
    alone = jnp.concatenate([sample(hint[i:i + 1], keys[i:i + 1], labels[i:i + 1]) for i in range(2)])
    np.testing.assert_allclose(both, alone, atol=1e-6)
    assert float(jnp.abs(both[0] - both[1]).max()) > 1e-3
