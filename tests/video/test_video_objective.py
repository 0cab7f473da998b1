"""gen_jax/video: masked frame conditioning keeps the given frames exactly (as inpainting does)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gen_jax.diffusion.process import RectifiedFlowPath
from gen_jax.nn.video import VideoUNet
from gen_jax.video.objective import VideoDiffusionObjective, random_masks, task_mask

SHAPE = (3, 8, 8, 1)


def _objective():
    model = VideoUNet(channels=8, channel_mult=(1,), num_res_blocks=1, attention_resolutions=(),
                      num_heads=1, num_classes=10, cond_channels=2, temporal_heads=1)
    return VideoDiffusionObjective(model=model, process=RectifiedFlowPath(), image_shape=SHAPE,
                                   tx=optax.adam(1e-2), lr_schedule=lambda s: 1e-2,
                                   prediction="velocity", num_classes=10)


def test_prediction_and_interpolation_keep_the_given_frames_exactly():
    obj = _objective()
    state = jax.jit(obj.init)(jax.random.PRNGKey(0))
    clips = jax.random.uniform(jax.random.PRNGKey(1), (2, *SHAPE), minval=-1, maxval=1)
    # "trained" weights: every parameter perturbed (a fresh U-Net's output layer is zero)
    leaves, tree = jax.tree.flatten(state.params)
    keys = jax.random.split(jax.random.PRNGKey(3), len(leaves))
    state = state.replace(params=tree.unflatten(
        [l + 0.2 * jax.random.normal(k, l.shape) for l, k in zip(leaves, keys)]))

    @jax.jit
    def run(params, mask):
        return obj.sample(params, jax.random.PRNGKey(2), 2, sampler="rf_euler", num_steps=3,
                          labels=jnp.array([3, 4]), guidance=2.0, known=clips, frame_mask=mask)

    for mask in (task_mask("predict", 3, 2), task_mask("interpolate", 3)):
        out = run(state.params, mask)
        m = np.asarray(mask, bool)
        np.testing.assert_array_equal(np.asarray(out)[:, m], np.asarray(clips)[:, m])
        assert np.all(np.abs(np.asarray(out)[:, ~m] - np.asarray(clips)[:, ~m]).max() > 1e-3)
    # the VP-view samplers keep them too
    out = jax.jit(lambda p: obj.sample(p, jax.random.PRNGKey(2), 2, sampler="dpm_solver_pp_2m",
                                       num_steps=3, known=clips, frame_mask=task_mask("predict", 3, 1)))(state.params)
    np.testing.assert_array_equal(np.asarray(out)[:, 0], np.asarray(clips)[:, 0])


def test_random_masks_draw_each_task():
    m = np.asarray(random_masks(jax.random.PRNGKey(0), 4000, 5, (0.5, 0.25, 0.25)))
    none = m.sum(1) == 0
    interp = (m[:, 0] == 1) & (m[:, -1] == 1) & (m[:, 1:-1].sum(1) == 0)
    prefix = np.all(np.diff(m, axis=1) <= 0, axis=1) & ~none & (m[:, -1] == 0)
    assert abs(none.mean() - 0.5) < 0.03 and abs(interp.mean() - 0.25) < 0.03
    assert abs(prefix.mean() - 0.25) < 0.03 and np.all(none | interp | prefix)
    assert set(m[prefix].sum(1).astype(int)) == {1, 2, 3, 4}


def test_video_sample_rejects_unknown_options_and_half_conditions():
    obj = _objective()
    with pytest.raises(ValueError, match="context"):
        obj.sample({}, jax.random.PRNGKey(0), 1, context=2)
    with pytest.raises(ValueError, match="pass both known"):
        obj.sample({}, jax.random.PRNGKey(0), 1, frame_mask=task_mask("predict", 3, 1))
    with pytest.raises(ValueError, match="task_probs"):
        VideoDiffusionObjective(model=None, process=RectifiedFlowPath(), image_shape=SHAPE, tx=None,
                                lr_schedule=None, task_probs=(0.5, 0.5, 0.5))
