"""metrics/video.py on clips whose motion is known."""

import numpy as np

from gen_jax.metrics.video import (centre_of_mass, com_speed, frame_difference,
                                   identity_over_time, motion_statistics, wasserstein_1d)


def _square_clip(step, T=5, size=16):
    clip = -np.ones((T, size, size, 1), np.float32)
    for t in range(T):
        clip[t, 2:5, 2 + step * t:5 + step * t] = 1.0
    return clip


def test_com_speed_is_the_step_and_a_still_clip_has_no_motion():
    clips = np.stack([_square_clip(2), _square_clip(0)])
    np.testing.assert_allclose(centre_of_mass(clips)[0, :, 0], 3.0)
    speed = com_speed(clips).reshape(2, 4)
    np.testing.assert_allclose(speed[0], 2.0, atol=1e-5)
    np.testing.assert_allclose(speed[1], 0.0, atol=1e-6)
    assert frame_difference(clips)[1] == 0 and frame_difference(clips)[0] > 0
    stats = motion_statistics(clips[:1], clips[1:])
    np.testing.assert_allclose(stats["speed_w1"], 2.0, atol=1e-5)


def test_wasserstein_and_identity():
    a = np.random.default_rng(0).normal(size=5000)
    assert wasserstein_1d(a, a) == 0.0
    np.testing.assert_allclose(wasserstein_1d(a, a + 1.5), 1.5, atol=1e-6)
    out = identity_over_time(np.array([[3, 3, 3, 3], [1, 1, 7, 1]]))
    assert out == {"consistent": 0.5, "agreement": 0.875}
