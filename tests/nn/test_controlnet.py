"""ControlNet: zero-initialised joins leave the pretrained U-Net exactly unchanged; its encoder
is initialised from the U-Net's; non-zero joins change the output as a function of the hint."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.controlnet import ADDED, controlnet_for, copy_encoder_params
from gen_jax.nn.unet import UNet

TINY = dict(channels=8, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(4,),
            num_heads=2, num_classes=3)
X = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 1))
T = jnp.array([3, 700])
Y = jnp.array([0, 2])
HINT = (jax.random.uniform(jax.random.PRNGKey(5), (2, 8, 8, 1)) > 0.7).astype(jnp.float32)


def _perturbed(params, key, scale=0.05):
    """Parameters moved off their (partly zero) initialisation, as after training."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return tree.unflatten([p + scale * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)])


@pytest.fixture(scope="module")
def nets():
    unet = UNet(**TINY)
    base = _perturbed(jax.jit(unet.init)(jax.random.PRNGKey(1), X, T, Y)["params"], jax.random.PRNGKey(2))
    cn = controlnet_for(unet, hint_channels=4)
    control = jax.jit(cn.init)(jax.random.PRNGKey(3), X, HINT, T, Y)["params"]

    @jax.jit
    def combined(control, hint):
        residuals = cn.apply({"params": control}, X, hint, T, Y)
        return unet.apply({"params": base}, X, T, Y, control=residuals)

    plain = jax.jit(unet.apply)({"params": base}, X, T, Y)
    return base, copy_encoder_params(control, base), combined, plain


def test_unet_without_control_is_unchanged():
    """control=None: the parameters and outputs of the U-Net before ControlNet existed (golden
    values from the previous unet.py: 48529 parameters, Σ|out| = 21.9306 for these inputs), and
    control = zeros gives the same output."""
    unet = UNet(**TINY)
    params = jax.jit(unet.init)(jax.random.PRNGKey(1), X, T, Y)
    assert sum(p.size for p in jax.tree.leaves(params)) == 48529
    params = jax.tree.map(lambda p: p + 0.05 * jax.random.normal(jax.random.PRNGKey(2), p.shape), params)
    apply = jax.jit(lambda p, control: unet.apply(p, X, T, Y, control=control))
    out = apply(params, None)
    np.testing.assert_allclose(float(jnp.abs(out).sum()), 21.9306, rtol=1e-4)
    cn = controlnet_for(unet)
    shapes = jax.eval_shape(lambda: cn.apply(cn.init(jax.random.PRNGKey(3), X, HINT, T, Y), X, HINT, T, Y))
    zeros = [jnp.zeros(s.shape, s.dtype) for s in shapes]
    np.testing.assert_allclose(apply(params, zeros), out, atol=1e-6, rtol=0)  # two programs: rounding
    with pytest.raises(ValueError, match="residuals"):
        jax.eval_shape(apply, params, zeros[:-1])


def test_encoder_is_copied_from_the_unet(nets):
    """Every ControlNet parameter outside the hint encoder and the zero convolutions has the
    U-Net's name and shape and is copied from it."""
    base, control, _, _ = nets
    copied = [k for k in control if k not in ADDED]
    assert len(copied) == 11  # 2 Dense, Embed, 2 Conv (input, downsample), 4 ResBlock, 2 attention
    for k in copied:
        for a, b in zip(jax.tree.leaves(control[k]), jax.tree.leaves(base[k])):
            np.testing.assert_array_equal(a, b)
    bad = dict(base, ResBlock_0=jax.tree.map(lambda p: p[..., :1], base["ResBlock_0"]))
    with pytest.raises(ValueError, match="ResBlock_0"):
        copy_encoder_params(control, bad)


def test_zero_init_combined_model_equals_the_pretrained_one(nets):
    """Every residual is exactly 0 at initialisation, so the combined model is the pretrained one
    (compared to 1e-6: the two compiled programs may round the same sums differently)."""
    base, control, combined, plain = nets
    cn = controlnet_for(UNet(**TINY), hint_channels=4)
    residuals = jax.jit(lambda c: cn.apply({"params": c}, X, HINT, T, Y))(control)
    assert len(residuals) == 5 and all(float(jnp.abs(r).max()) == 0.0 for r in residuals)
    np.testing.assert_allclose(combined(control, HINT), plain, atol=1e-6, rtol=0)


def test_nonzero_zero_convs_make_the_output_follow_the_hint(nets):
    """With the zero convolutions (and the hint encoder's last conv) moved off zero, the output
    changes, and differs between two hints."""
    _, control, combined, plain = nets
    k1, k2 = jax.random.split(jax.random.PRNGKey(7))
    moved = dict(control, zero_convs=_perturbed(control["zero_convs"], k1, 0.1),
                 hint_encoder=_perturbed(control["hint_encoder"], k2, 0.1))
    out = combined(moved, HINT)
    assert float(jnp.abs(out - plain).mean()) > 1e-2 * float(jnp.abs(plain).mean())
    other = combined(moved, 1.0 - HINT)
    assert float(jnp.abs(out - other).mean()) > 1e-3 * float(jnp.abs(plain).mean())
