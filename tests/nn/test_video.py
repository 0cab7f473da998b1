"""nn/video.py: a fresh VideoUNet is the image U-Net frame by frame; the SR wrapper's inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.unet import UNet
from gen_jax.nn.video import SRConditioned, VideoUNet, image_params_of, image_params_to_video

KW = dict(channels=8, channel_mult=(1,), num_res_blocks=1, attention_resolutions=(8,),
          num_heads=1, num_classes=10)


def _perturb(tree, key, scale=0.3):
    leaves, treedef = jax.tree.flatten(tree)
    keys = jax.random.split(key, len(leaves))
    return treedef.unflatten([l + scale * jax.random.normal(k, l.shape) for l, k in zip(leaves, keys)])


def test_fresh_video_unet_is_the_image_unet_frame_by_frame():
    video, image = VideoUNet(**KW, cond_channels=2, temporal_heads=2), UNet(**KW)
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 3, 8, 8, 1))
    t, y = jnp.array([3.0, 500.0]), jnp.array([1, 10])
    cond = jax.random.normal(jax.random.PRNGKey(2), (2, 3, 8, 8, 2))
    pv = jax.jit(lambda k: video.init(k, x, t, y, cond=cond)["params"])(jax.random.PRNGKey(1))
    # "trained" image weights: every image layer perturbed away from its (partly zero) init
    pi = jax.jit(lambda k: _perturb(image.init(k, x[:, 0], t, y)["params"], jax.random.PRNGKey(4)))(
        jax.random.PRNGKey(3))
    pv = image_params_to_video(pi, pv)
    apply_v = jax.jit(lambda p, x: video.apply({"params": p}, x, t, y, cond=cond))
    out_v = apply_v(pv, x)
    # the image U-Net on the B·T frames as one batch (each clip's t and label on its frames)
    frames = jax.jit(lambda p: image.apply({"params": p}, x.reshape(6, 8, 8, 1), jnp.repeat(t, 3),
                                           jnp.repeat(y, 3)))(pi).reshape(x.shape)
    assert float(jnp.abs(frames).mean()) > 1e-2  # the comparison is not between zeros
    np.testing.assert_allclose(out_v, frames, atol=1e-5)
    assert jax.tree.map(jnp.shape, image_params_of(pv)) == jax.tree.map(jnp.shape, pi)
    # once the temporal layers are trained (perturbed), frames mix and the outputs differ
    pv2 = dict(pv, **{k: _perturb(v, jax.random.PRNGKey(5)) for k, v in pv.items()
                      if k.startswith("TemporalAttention_")})
    out_t = apply_v(pv2, x)
    assert float(jnp.abs(out_t - frames).max()) > 1e-3
    # and a frame's output then depends on the other frames
    out_b = apply_v(pv2, x.at[:, 2].add(1.0))
    assert float(jnp.abs(out_b[:, 0] - out_t[:, 0]).max()) > 1e-4


def test_image_params_to_video_names_a_mismatched_layer():
    video, image = VideoUNet(**KW), UNet(**dict(KW, channels=16))
    x = jnp.zeros((1, 2, 8, 8, 1))
    pv = jax.eval_shape(lambda: video.init(jax.random.PRNGKey(0), x, jnp.zeros(1))["params"])
    pi = jax.eval_shape(lambda: image.init(jax.random.PRNGKey(0), x[:, 0], jnp.zeros(1))["params"])
    with pytest.raises(ValueError, match="layer 'Conv_0'"):
        image_params_to_video(pi, pv)


def test_sr_wrapper_feeds_the_upsampled_input_and_level():
    model = SRConditioned(UNet(channels=8, channel_mult=(1,), num_res_blocks=1,
                               attention_resolutions=(), num_heads=1, out_channels=1))
    x = jnp.zeros((2, 8, 8, 1))
    p = jax.jit(lambda k: _perturb(model.init(k, x, jnp.zeros(2), lowres_up=x, aug_level=jnp.zeros(2))[
        "params"], jax.random.PRNGKey(1)))(jax.random.PRNGKey(0))
    assert p["backbone"]["Conv_0"]["kernel"].shape[2] == 3  # x_t, lowres_up, level channel
    f = jax.jit(lambda z, s: model.apply({"params": p}, x, jnp.ones(2), lowres_up=z, aug_level=s))
    base = f(x, jnp.zeros(2))
    assert float(jnp.abs(f(x + 0.5, jnp.zeros(2)) - base).max()) > 1e-3
    assert float(jnp.abs(f(x, jnp.full(2, 0.5)) - base).max()) > 1e-3
