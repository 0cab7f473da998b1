"""Consistency distillation: the boundary identity, the multistep sampler (loops agree, exact
samples from the exact consistency function), and a toy student that learns the teacher's ODE."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from toy_teachers import SHAPE, ExactFlow, analytic, diffusion_objective, flow_objective, gaussian_flow

from gen_jax.distill.consistency import ConsistencyDistillObjective, consistency_fn, consistency_sample
from gen_jax.distill.teacher import TeacherODE


class Garbage:
    """Any network, one that even blows up at the clean end: the boundary condition must hold
    whatever it outputs."""

    image_shape, num_classes = SHAPE, None

    def __init__(self, kind):
        self.kind = kind
        self.native_view = "rf" if kind == "flow" else "vp"
        if kind == "flow":
            self.velocity = lambda p, l=None, g=1.0: (lambda x, t: (5.0 * x - 2.0) / t[:, None, None, None])
        else:
            from gen_jax.diffusion.schedules import make_schedule

            self.schedule = make_schedule("linear", 1000)

    def denoiser(self, params, labels=None, guidance=1.0):
        return lambda x, t: ((10.0 * x + 3.0) / (t[:, None, None, None] + 1.0), -x)


@pytest.mark.parametrize("kind", ["diffusion", "flow"])
def test_consistency_function_is_the_identity_at_the_clean_end(kind):
    """f(x, t_clean) = x exactly (t = −1 for DDPM, t = 0 for flow): the target of the last grid pair
    is the teacher's own step; and f(x, t) ≠ x elsewhere."""
    teacher = TeacherODE(Garbage(kind))
    f = consistency_fn(teacher, None)
    x = jax.random.normal(jax.random.PRNGKey(0), (8, *SHAPE))
    clean = teacher.time(4, 4)
    np.testing.assert_array_equal(f(x, jnp.full((8,), clean)), x)
    assert float(jnp.max(jnp.abs(f(x, jnp.full((8,), teacher.time(3, 4))) - x))) > 0.1


def _exact_flow_consistency(x, t):
    """The exact consistency function of the Gaussian RF: its ODE keeps (x − m_t)/√V_t fixed."""
    mu, s = gaussian_flow.MU, gaussian_flow.S
    tb = t[:, None, None, None]
    return mu + s * (x - (1 - tb) * mu) / jnp.sqrt((1 - tb) ** 2 * s**2 + tb**2)


def test_multistep_sampling_with_the_exact_consistency_function_is_exact():
    """Re-noising x to α_τ·x + σ_τ·z puts it on the marginal at τ, so the exact f gives data
    moments at every step count (one compilation for 1, 2, 4 steps)."""
    teacher = TeacherODE(ExactFlow())
    x1 = jax.random.normal(jax.random.PRNGKey(0), (8000, *SHAPE))
    run = jax.jit(lambda n: consistency_sample(_exact_flow_consistency, teacher, x1, jax.random.PRNGKey(1),
                                               n, clip=False))
    for n in (1, 2, 4):
        x = run(jnp.int32(n))
        assert abs(float(x.mean()) - gaussian_flow.MU) < 0.01 and abs(float(x.std()) - gaussian_flow.S) < 0.01


@pytest.mark.parametrize("kind", ["diffusion", "flow"])
def test_consistency_sampler_fori_loop_agrees_with_debug_loop(kind):
    teacher = TeacherODE(Garbage(kind))
    f = consistency_fn(teacher, None)
    x_T = jax.random.normal(jax.random.PRNGKey(0), (4, *SHAPE))
    key = jax.random.PRNGKey(1)
    np.testing.assert_allclose(consistency_sample(f, teacher, x_T, key, 4),
                               consistency_sample(f, teacher, x_T, key, 4, debug=True), atol=1e-6)


@pytest.mark.parametrize("kind", ["diffusion", "flow"])
def test_one_step_consistency_student_beats_the_one_step_teacher(kind):
    """Consistency distillation on an 8-point grid from a teacher = exact Gaussian model + a
    zero-init correction: the 1-step teacher collapses toward the mean (std ≈ 0); the 1-step
    student's sample std is at least twice as close to the data's."""
    base = diffusion_objective() if kind == "diffusion" else flow_objective()
    mu, s = (analytic.MU, analytic.S) if kind == "diffusion" else (gaussian_flow.MU, gaussian_flow.S)
    teacher_params = base.init(jax.random.PRNGKey(0)).params
    objective = ConsistencyDistillObjective(TeacherODE(base), teacher_params, base.tx, base.lr_schedule,
                                            num_scales=8, target_ema=0.5, ema_decay=0.9)

    def body(state, k):
        x0 = mu + s * jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(1), k), (256, *SHAPE))
        return objective.step(state, {"image": x0})[0], None

    state = jax.jit(lambda st: jax.lax.scan(body, st, jnp.arange(300))[0])(objective.init(jax.random.PRNGKey(0)))
    key = jax.random.PRNGKey(7)
    student = float(objective.sample(state.ema_params, key, 2000, num_steps=1).std())
    teacher = float(base.sample(teacher_params, key, 2000, num_steps=1).std())  # DDIM / Euler
    assert abs(student - s) < 0.5 * abs(teacher - s), (student, teacher, s)
