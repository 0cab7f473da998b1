"""FlowObjective: its loss through the train step, classifier-free guidance, per-sample keys, and
the smoke config trained through experiments.train.run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import build
from experiments.configs import rf_default, rf_mnist
from gen_jax.flow.objective import FlowObjective
from gen_jax.nn.unet import UNet
from gen_jax.train.state import make_optimizer


def tiny_flow(conditional=True):
    tx, sched = make_optimizer(2e-3, warmup_steps=2)
    model = UNet(channels=8, channel_mult=(1,), num_res_blocks=1, attention_resolutions=(),
                 num_heads=1, num_classes=10 if conditional else None)
    return FlowObjective(model=model, image_shape=(8, 8, 1), tx=tx, lr_schedule=sched,
                         time_sampling="uniform", num_classes=10 if conditional else None,
                         cond_drop_prob=0.2 if conditional else 0.0, ema_decay=0.9)


def _perturbed_params(obj):
    p = obj.init(jax.random.PRNGKey(0)).params
    # the output conv is zero-initialised; perturb so that outputs depend on x, t and the label
    leaves, tree = jax.tree.flatten(p)
    keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
    return jax.tree.unflatten(tree, [l + 0.05 * jax.random.normal(k, l.shape) for l, k in zip(leaves, keys)])


def test_first_step_loss_is_the_known_zero_net_value():
    """The U-Net's output is zero at init, so the first loss is mean((z − x0)²) for the step's z."""
    obj = tiny_flow()
    state = obj.init(jax.random.PRNGKey(0))
    x0 = jnp.linspace(-1, 1, 4 * 64).reshape(4, 8, 8, 1)
    batch = {"image": x0, "label": jnp.arange(4)}
    new, metrics = jax.jit(obj.step)(state, batch)
    k_loss = jax.random.split(jax.random.fold_in(state.rng, 0), 3)[0]
    z = jax.random.normal(jax.random.split(k_loss)[1], x0.shape)
    np.testing.assert_allclose(metrics["loss"], jnp.mean((z - x0) ** 2), rtol=1e-5)
    assert int(new.step) == 1 and float(metrics["grad_norm"]) > 0


def test_cfg_w0_is_the_unconditional_model_and_w_extrapolates():
    obj = tiny_flow()
    params = _perturbed_params(obj)
    x = jax.random.normal(jax.random.PRNGKey(2), (4, 8, 8, 1))
    t = jnp.array([0.1, 0.4, 0.7, 0.95])
    y = jnp.array([1, 2, 3, 4])
    key = jax.random.PRNGKey(0)

    @jax.jit  # one compilation for everything (w is a runtime value)
    def run(w):
        sample = lambda labels, w: obj.sample(params, key, 4, num_steps=3, labels=labels, guidance=w)
        return (obj.velocity(params, y, w)(x, t), obj.velocity(params, y, 1.0)(x, t),
                obj.velocity(params, None)(x, t), sample(y, w), sample(None, 1.0))

    v0, cond, uncond, s0, plain = run(0.0)
    v3, _, _, s4, _ = run(3.0)
    assert not np.allclose(cond, uncond, atol=1e-3)
    np.testing.assert_allclose(v0, uncond, atol=1e-5)
    np.testing.assert_allclose(v3, uncond + 3.0 * (cond - uncond), atol=1e-4)
    # through the sampler: guided sampling at w = 0 is unconditional sampling
    np.testing.assert_allclose(s0, plain, atol=1e-5)
    assert not np.allclose(s4, plain, atol=1e-3)


def test_sample_does_not_depend_on_batch_size():
    obj = tiny_flow(conditional=False)
    params = _perturbed_params(obj)
    keys = jax.random.split(jax.random.PRNGKey(5), 5)
    run = jax.jit(lambda k: obj.sample(params, k, sampler="rf_euler", num_steps=4, shift=2.0))
    np.testing.assert_allclose(run(keys)[:2], run(keys[:2]), atol=1e-5)
    with pytest.raises(ValueError, match="unknown sampler 'ddim_x'"):
        obj.sample(params, keys, sampler="ddim_x")
    with pytest.raises(ValueError, match="sampler 'rf_euler' does not take option 'eta'"):
        obj.sample(params, keys, sampler="rf_euler", eta=0.3)


@pytest.mark.parametrize("field,value", [("objective.time_sampling", "cosine"),
                                         ("objective.logit_scale", 0.0), ("objective.shift", -1.0),
                                         ("sampler.name", "ddim_x"), ("sampler.shift", 0.0)])
def test_validator_names_the_field(field, value):
    c = rf_mnist.get_config()
    section, key = field.split(".")
    c[section][key] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
        build.validate(c)


def test_smoke_config_trains_two_steps_and_writes_samples(tmp_path):
    from experiments.train import run

    c = rf_default.get_config("smoke")
    c.model.channel_mult, c.model.attention_resolutions = (1,), ()  # compiles ~2x faster
    c.sampler.name = "rf_heun"
    c.sampler.shift = 3.0
    c.train.sample_every = 2            # the smoke default is 0: this test keeps the preview path covered
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2
    assert (tmp_path / "samples.png").exists() and (tmp_path / "checkpoints" / "2").exists()
    assert (tmp_path / "samples" / "step_0000002.png").exists()
    assert np.isfinite(jax.flatten_util.ravel_pytree(state.ema_params)[0]).all()
