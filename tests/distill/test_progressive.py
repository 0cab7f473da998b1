"""Progressive distillation: the two-step target against the library samplers, on exact Gaussian
teachers; and a distilled 1-step student that beats 1-step teacher sampling on a toy problem."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from toy_teachers import SHAPE, ExactDiffusion, ExactFlow, analytic, diffusion_objective, flow_objective, gaussian_flow

from gen_jax.distill.progressive import ProgressiveDistillObjective, two_step_target
from gen_jax.distill.teacher import TeacherODE
from gen_jax.flow.samplers import euler_sample
from gen_jax.samplers.ddpm_ddim import ddim_step


@pytest.mark.parametrize("n", [1, 2, 4])
def test_one_student_ddim_step_equals_two_teacher_steps(n):
    """A student whose x0 is the target x̃ lands, in one library DDIM step, where two teacher DDIM
    steps land (every student step i of n, the last one into t = −1 included)."""
    base = ExactDiffusion()
    teacher = TeacherODE(base, clip_x0=False)
    predict = teacher.predictor(None)
    for i in range(n):
        t = int(teacher.time(i, n))
        alpha, sigma = (float(v) for v in teacher.alpha_sigma(t))
        x_t = alpha * (0.5 + 0.3 * jax.random.normal(jax.random.PRNGKey(i), (16, *SHAPE))) \
            + sigma * jax.random.normal(jax.random.PRNGKey(100 + i), (16, *SHAPE))

        def student(x, tt, i=i):
            full = lambda v: jnp.full(tt.shape, v)  # noqa: E731
            x0 = two_step_target(teacher, predict, x, tt, full(teacher.time(2 * i + 1, 2 * n)),
                                 full(teacher.time(i + 1, n)))
            a = base.schedule.alpha_bar(tt)[:, None, None, None]
            return x0, (x - jnp.sqrt(a) * x0) / jnp.sqrt(1 - a)

        z = jnp.zeros_like(x_t)
        one = ddim_step(student, base.schedule, x_t, i, n, 0.0, z, clip_x0=False)
        mid = ddim_step(base.denoiser(None), base.schedule, x_t, 2 * i, 2 * n, 0.0, z, clip_x0=False)
        two = ddim_step(base.denoiser(None), base.schedule, mid, 2 * i + 1, 2 * n, 0.0, z, clip_x0=False)
        np.testing.assert_allclose(one, two, atol=2e-5)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_student_euler_chain_equals_teacher_chain_of_twice_the_steps(n):
    """Rectified flow: the student velocity (x − x̃)/t, through the library Euler sampler in n
    steps, reproduces the teacher's 2n-step Euler samples."""
    teacher = TeacherODE(ExactFlow())
    predict = teacher.predictor(None)

    def student_v(x, t):
        i = jnp.round((1.0 - t) * n).astype(jnp.int32)
        x0 = two_step_target(teacher, predict, x, t, teacher.time(2 * i + 1, 2 * n), teacher.time(i + 1, n))
        return (x - x0) / t[:, None, None, None]

    x1 = jax.random.normal(jax.random.PRNGKey(0), (64, *SHAPE))
    student = euler_sample(student_v, x1, n, debug=True)
    ref = euler_sample(lambda x, t: gaussian_flow.velocity(x, t), x1, 2 * n)
    np.testing.assert_allclose(student, ref, atol=2e-5)


def train(objective, mu, s, steps, batch=256):
    """objective.step on fresh N(mu, s²) batches, all steps in one lax.scan."""

    def body(state, k):
        x0 = mu + s * jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(1), k), (batch, *SHAPE))
        return objective.step(state, {"image": x0})[0], None

    run = jax.jit(lambda st: jax.lax.scan(body, st, jnp.arange(steps))[0])
    return run(objective.init(jax.random.PRNGKey(0)))


@pytest.mark.parametrize("kind", ["diffusion", "flow"])
def test_one_step_student_matches_eight_step_teacher(kind):
    """Distil 8 -> 4 -> 2 -> 1 steps (three rounds) from a teacher = exact Gaussian model + a
    zero-init correction net: the 1-step student's sample std matches the 8-step teacher's, far
    from the 1-step teacher's (which collapses toward the mean)."""
    base = diffusion_objective() if kind == "diffusion" else flow_objective()
    mu, s = (analytic.MU, analytic.S) if kind == "diffusion" else (gaussian_flow.MU, gaussian_flow.S)
    teacher_params = base.init(jax.random.PRNGKey(0)).params
    objective = ProgressiveDistillObjective(TeacherODE(base), teacher_params, base.tx, base.lr_schedule,
                                            teacher_steps=8, rounds=3, steps_per_round=60, ema_decay=0.9)
    state = train(objective, mu, s, 180)
    key = jax.random.PRNGKey(7)
    run = jax.jit(lambda p, n: objective.sample(p, key, 2000, num_steps=n))  # one compilation
    std = lambda p, n: float(run(p, jnp.int32(n)).std())  # noqa: E731
    student, teacher_1, teacher_8 = std(state.ema_params, 1), std(teacher_params, 1), std(teacher_params, 8)
    assert abs(student - teacher_8) < 0.1 * abs(teacher_8 - teacher_1), (student, teacher_1, teacher_8)
