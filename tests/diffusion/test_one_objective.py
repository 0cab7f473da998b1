"""DDPM, rectified flow, general and text diffusion are one DiffusionObjective class whose loss on
DDPM's table and on the rectified-flow path is the independent DDPM / flow-matching loss, and whose
sample names a misspelt or foreign option in its ValueError."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.diffusion.general_objective import GeneralDiffusionObjective
from gen_jax.diffusion.losses import diffusion_loss
from gen_jax.diffusion.objective import DiffusionObjective
from gen_jax.diffusion.process import VPSDE
from gen_jax.diffusion.schedules import make_schedule
from gen_jax.diffusion.text_objective import TextDiffusionObjective
from gen_jax.flow.objective import FlowObjective
from gen_jax.flow.rectified_flow import flow_matching_loss
from gen_jax.flow.text_objective import TextFlowObjective
from gen_jax.nn.text import Tokenizer
from gen_jax.objective import Objective
from gen_jax.train.state import make_optimizer

SHAPE = (4, 4, 1)
TIME_DTYPES = []  # the dtype of each time Toy is called with


class Toy(nn.Module):
    """out = Dense(x) + t·w + embed(label): sensitive to the time's value and to the label."""

    @nn.compact
    def __call__(self, x, t, labels=None, train=False):
        TIME_DTYPES.append(jnp.asarray(t).dtype)
        h = nn.Dense(x.shape[-1])(x)
        h = h + jnp.asarray(t, jnp.float32).reshape(-1, 1, 1, 1) * self.param(
            "w_t", nn.initializers.normal(0.01), (x.shape[-1],))
        if labels is not None and labels.ndim == 1:
            h = h + nn.Embed(11, x.shape[-1])(labels)[:, None, None, :]
        return h


def _common(**kw):
    tx, lr = make_optimizer(1e-3, 1, None, 0.0)
    return dict(model=Toy(), image_shape=SHAPE, tx=tx, lr_schedule=lr, **kw)


def _all():
    tok = Tokenizer(("a", "cat"), max_len=4)
    return [DiffusionObjective(schedule=make_schedule("linear", 50), **_common(num_classes=10)),
            FlowObjective(**_common(num_classes=10)),
            GeneralDiffusionObjective(process=VPSDE(), **_common()),
            TextDiffusionObjective(schedule=make_schedule("linear", 50), tokenizer=tok, **_common()),
            TextFlowObjective(tokenizer=tok, **_common())]


def test_presets_are_one_class_following_the_objective_protocol():
    objs = _all()
    assert {type(o) for o in objs} == {DiffusionObjective}
    assert all(isinstance(o, Objective) for o in objs)
    assert [o.native_view for o in objs] == ["vp", "rf", "vp", "vp", "rf"]
    assert [o.num_classes for o in objs] == [10, 10, None, None, None]
    assert objs[3].tokenizer is objs[4].tokenizer and objs[0].tokenizer is None
    with pytest.raises(ValueError, match="needs a tokenizer"):
        TextFlowObjective(**_common())


@pytest.mark.parametrize("i,sampler,option", [(0, "ddim", "etaa"), (1, "rf_euler", "eta"),
                                              (2, "dpm_solver_2", "shift")])
def test_a_misspelt_or_foreign_sampling_option_is_a_value_error_naming_it(i, sampler, option):
    obj = _all()[i]
    params = obj.init(jax.random.PRNGKey(0)).params
    with pytest.raises(ValueError, match=f"'{option}'"):
        obj.sample(params, jax.random.PRNGKey(1), 2, sampler=sampler, num_steps=2, **{option: 0.5})


def _loss_and_reference_inputs(i):
    """(objective i, params, batch, key, k_loss, k_drop): the loss's key split as step's."""
    obj = _all()[i]
    x0 = jax.random.uniform(jax.random.PRNGKey(1), (16, *SHAPE), minval=-1, maxval=1)
    key = jax.random.PRNGKey(2)
    k_loss, k_drop, _ = jax.random.split(key, 3)
    batch = {"image": x0, "label": jnp.arange(16) % 10}
    return obj, obj.init(jax.random.PRNGKey(0)).params, batch, key, k_loss, k_drop


def test_ddpm_loss_is_diffusion_loss_on_integer_timesteps():
    obj, params, batch, key, k_loss, k_drop = _loss_and_reference_inputs(0)
    ref = diffusion_loss(obj._apply, params, obj.schedule, batch["image"], k_loss, "eps", batch["label"],
                         {"dropout": k_drop})
    TIME_DTYPES.clear()
    np.testing.assert_allclose(obj.loss(params, batch, key), ref, rtol=1e-6)
    assert TIME_DTYPES == [jnp.int32]  # the table index k, as DDPM networks were trained


def test_flow_loss_is_flow_matching_loss():
    obj, params, batch, key, k_loss, k_drop = _loss_and_reference_inputs(1)
    v = lambda x_t, t: obj._apply(params, x_t, t, batch["label"], {"dropout": k_drop})  # noqa: E731
    ref = flow_matching_loss(v, batch["image"], k_loss, sampling="logit_normal")
    np.testing.assert_allclose(obj.loss(params, batch, key), ref, rtol=1e-6)
