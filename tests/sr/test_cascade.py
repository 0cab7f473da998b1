"""gen_jax/sr/cascade.py: a cascade reproduces its two stages run by hand."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gen_jax.diffusion.general_objective import GeneralDiffusionObjective
from gen_jax.diffusion.process import RectifiedFlowPath
from gen_jax.sr.cascade import cascade_sample
from gen_jax.sr.objective import SRDiffusionObjective


class ShrinkX0(nn.Module):  # a parameter-free "base network": x0 = x_t/2
    @nn.compact
    def __call__(self, x_t, t, labels=None, train=False):
        return 0.5 * x_t


class MixX0(nn.Module):  # a parameter-free "SR network": x0 = (x_t + lowres_up)/2
    @nn.compact
    def __call__(self, x_t, t, labels=None, train=False, *, lowres_up, aug_level):
        return 0.5 * (x_t + lowres_up)


def test_cascade_is_base_then_sr_run_by_hand():
    proc = RectifiedFlowPath()
    base = GeneralDiffusionObjective(model=ShrinkX0(), process=proc, image_shape=(4, 4, 1),
                                     tx=optax.sgd(0.0), lr_schedule=lambda s: 0.0, prediction="x0")
    sr = SRDiffusionObjective(model=MixX0(), process=proc, image_shape=(8, 8, 1), lowres_size=4,
                              tx=optax.sgd(0.0), lr_schedule=lambda s: 0.0, prediction="x0")
    key = jax.random.PRNGKey(7)
    opts = dict(sampler="rf_euler", num_steps=4)
    low, high = jax.jit(lambda k: cascade_sample(base, {}, sr, {}, k, 3, base_options=opts,
                                                 sr_options=dict(opts, aug_level=0.1)))(key)
    low_ref = base.sample({}, jax.random.fold_in(key, 0), 3, **opts)
    high_ref = sr.sample({}, jax.random.fold_in(key, 1), 3, lowres=low_ref, aug_level=0.1, **opts)
    np.testing.assert_allclose(low, low_ref, atol=1e-6)
    np.testing.assert_allclose(high, high_ref, atol=1e-6)
    assert float(jnp.abs(high).max()) > 0
