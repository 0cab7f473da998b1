import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.schedules import make_schedule
from gen_jax.samplers.editing import img2img, inpaint, repaint_schedule

MU, S = 0.0, 0.5
SHAPE = (4, 4, 1)
D = 16


def constant_image_denoiser(schedule):
    """Data: images whose D pixels all equal c ~ N(MU, S²). mean(x_t) is sufficient for c:
    E[c | x_t] = MU + √ᾱ·S² / (ᾱ·S² + (1 − ᾱ)/D) · (mean(x_t) − √ᾱ·MU)."""

    def denoise(x_t, t):
        a = schedule.alpha_bar(t)[:, None, None, None]
        m = x_t.mean(axis=(1, 2, 3), keepdims=True)
        c = MU + jnp.sqrt(a) * S**2 / (a * S**2 + (1 - a) / D) * (m - jnp.sqrt(a) * MU)
        x0 = jnp.broadcast_to(c, x_t.shape)
        return x0, (x_t - jnp.sqrt(a) * x0) / jnp.sqrt(1 - a)

    return denoise


def _problem(b=64):
    s = make_schedule("linear", 1000)
    c = jax.random.normal(jax.random.PRNGKey(0), (b, 1, 1, 1)) * S + MU
    x_known = jnp.broadcast_to(c, (b, *SHAPE))
    mask = jnp.zeros(SHAPE).at[:2].set(1.0)  # top half known
    x_T = jax.random.normal(jax.random.PRNGKey(1), (b, *SHAPE))
    return s, constant_image_denoiser(s), x_known, mask, x_T


@pytest.mark.parametrize("jump", [(1, 1), (2, 3)])
def test_inpainting_keeps_known_pixels_exactly_and_fills_consistently(jump):
    s, denoise, x_known, mask, x_T = _problem()
    x = inpaint(denoise, s, x_T, jax.random.PRNGKey(2), 25, x_known, mask, eta=1.0,
                jump_length=jump[0], jump_n_sample=jump[1], clip_x0=False)
    np.testing.assert_allclose(x[:, :2], x_known[:, :2], atol=1e-5)
    # the filled half must agree with the known half (all pixels of an image are equal)
    err = float(jnp.sqrt(jnp.mean((x[:, 2:] - x_known[:, 2:]) ** 2)))
    uninformed = float(jnp.sqrt(2) * S)  # rms gap of an unrelated image from the prior
    assert err < 0.2 * uninformed, err


def test_repaint_resampling_improves_over_plain_replacement():
    s, denoise, x_known, mask, x_T = _problem(256)
    errs = []
    for jl, jn in [(1, 1), (2, 4)]:
        x = inpaint(denoise, s, x_T, jax.random.PRNGKey(2), 10, x_known, mask, eta=1.0,
                    jump_length=jl, jump_n_sample=jn, clip_x0=False)
        errs.append(float(jnp.sqrt(jnp.mean((x[:, 2:] - x_known[:, 2:]) ** 2))))
    assert errs[1] < errs[0], errs


def test_repaint_schedule_counts():
    ops = repaint_schedule(10, 2, 3)
    # every step is denoised once, plus (jump_n_sample − 1)·jump_length redos per jump point
    jump_points = len(range(2, 10, 2))
    assert (ops[:, 1] == 0).sum() == 10 + 2 * 2 * jump_points
    assert (ops[:, 1] == 1).sum() == 2 * 2 * jump_points
    assert ops[-1].tolist() == [9, 0]


def test_img2img_strength_is_a_runtime_value():
    s, denoise, x_known, _, _ = _problem(32)
    traces = []

    @jax.jit
    def run(strength):
        traces.append(1)
        return img2img(denoise, s, x_known, jax.random.PRNGKey(3), 20, strength, clip_x0=False)

    np.testing.assert_allclose(run(0.0), x_known, atol=1e-6)  # strength 0: the input itself
    d = [float(jnp.sqrt(jnp.mean((run(st) - x_known) ** 2))) for st in (0.1, 0.5, 1.0)]
    assert d[0] < d[1] < d[2]
    assert d[0] < 0.2 * d[2]
    assert len(traces) == 1
    debug = img2img(denoise, s, x_known, jax.random.PRNGKey(3), 20, 0.5, clip_x0=False, debug=True)
    np.testing.assert_allclose(debug, run(0.5), atol=1e-5)
