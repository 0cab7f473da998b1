"""gen_jax/sr: the SR objective's conditioning on a toy whose exact conditional is known.

Toy: x0 ~ N(0, s²·I) on 4×4 images, low-res z = 2×2 block means. Given z, x0 = up(z) + P·x0 where
P removes each block's mean, so the exact denoiser is E[x0 | x_t, z] = up(z) + g·P·x_t with
g = α·s²/(α²·s² + σ²) (the Gaussian posterior of the part of x0 that z leaves free). With this as
the "network", samples must be consistent with z (block means equal z) and have the conditional
spread Var(P·x0) = (3/4)·s² per pixel."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
import pytest

from gen_jax.data.lowres import downsample, upsample
from gen_jax.diffusion.process import DiscreteVP, RectifiedFlowPath
from gen_jax.metrics.restoration import consistency_mse
from gen_jax.sr.objective import SRDiffusionObjective

S = 0.3  # prior std of the toy pixels


class ExactToyX0(nn.Module):
    process: object
    time_scale: float

    @nn.compact
    def __call__(self, x_t, t, labels=None, train=False, *, lowres_up, aug_level):
        alpha, sigma = self.process.alpha_sigma(t / self.time_scale)
        alpha, sigma = alpha[:, None, None, None], sigma[:, None, None, None]
        z_up = upsample(downsample(lowres_up, 2), 4, "nearest")  # exact: the input was nearest-upsampled
        free = x_t - upsample(downsample(x_t, 2), 4, "nearest")
        return z_up + alpha * S**2 / (alpha**2 * S**2 + sigma**2) * free


def _objective(process):
    return SRDiffusionObjective(model=ExactToyX0(process, 1000.0), process=process,
                                image_shape=(4, 4, 1), lowres_size=2, tx=optax.sgd(0.0),
                                lr_schedule=lambda s: 0.0, prediction="x0", upsample_method="nearest")


@pytest.mark.parametrize("process,sampler,steps", [(DiscreteVP("linear", 1000), "ddim", 200),
                                                   (RectifiedFlowPath(), "rf_euler", 100)])
def test_sr_samples_are_consistent_and_have_the_exact_conditional_spread(process, sampler, steps):
    obj = _objective(process)
    z = jnp.array([0.1, -0.1, 0.05, 0.0]).reshape(1, 2, 2, 1)
    lowres = jnp.repeat(z, 1024, axis=0)
    fn = jax.jit(lambda k: obj.sample({}, k, sampler=sampler, num_steps=steps, lowres=lowres))
    x = fn(jax.random.PRNGKey(1))
    # samples are clipped to [-1, 1]; the few that touch the bounds (~1e-4 of the pixels at s = 0.3)
    # lose their consistency there, every other one matches z to rounding
    inside = jnp.abs(x).max(axis=(1, 2, 3)) < 0.999
    assert float(inside.mean()) > 0.95
    assert float(jnp.where(inside, consistency_mse(x, lowres), 0.0).max()) < 1e-9
    free = x - upsample(downsample(x, 2), 4, "nearest")
    var = float(jnp.mean(free**2))
    # the samplers approach the exact spread as steps grow (ddim: 0.93 at 50 steps, 0.96 at 200)
    assert abs(var / (0.75 * S**2) - 1) < 0.07, var
    # a wrong conditional (a denoiser that ignores z) is caught by the consistency term
    assert float(consistency_mse(jnp.zeros_like(x), lowres).mean()) > 1e-3


def test_sr_sample_rejects_unknown_options_and_bad_inputs():
    obj = _objective(RectifiedFlowPath())
    with pytest.raises(ValueError, match="strength"):
        obj.sample({}, jax.random.PRNGKey(0), lowres=jnp.zeros((1, 2, 2, 1)), strength=0.5)
    with pytest.raises(ValueError, match=r"lowres: expected \[N, 2, 2, 1\]"):
        obj.sample({}, jax.random.PRNGKey(0), lowres=jnp.zeros((1, 4, 4, 1)))
    with pytest.raises(ValueError, match="lowres_size must divide"):
        SRDiffusionObjective(model=None, process=RectifiedFlowPath(), image_shape=(28, 28, 1),
                             lowres_size=8, tx=None, lr_schedule=None)
