"""Teachers with exact answers for the distillation tests: Gaussian data x0 ~ N(MU, S²) per pixel,
whose exact DDPM denoiser (tests/samplers/analytic.py) and exact rectified-flow velocity
(tests/flow/gaussian_flow.py) are known, wrapped (a) as parameter-free "objectives" that TeacherODE
reads, and (b) as networks = exact teacher + a small learned per-pixel correction whose last layer
starts at zero, so that a student initialised from the teacher starts exactly at the teacher."""

import sys
from pathlib import Path

import flax.linen as nn
import jax.numpy as jnp
import optax

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "samplers"))
sys.path.insert(0, str(HERE.parent / "flow"))

import analytic  # noqa: E402
import gaussian_flow  # noqa: E402

from gen_jax.diffusion.objective import DiffusionObjective  # noqa: E402
from gen_jax.diffusion.schedules import make_schedule  # noqa: E402
from gen_jax.flow.objective import FlowObjective  # noqa: E402

SHAPE = (2, 2, 1)


class ExactDiffusion:
    """A parameter-free stand-in for DiffusionObjective: denoiser() is the exact Gaussian one."""

    native_view = "vp"

    def __init__(self, schedule=None, mu=analytic.MU, s=analytic.S):
        self.schedule = schedule if schedule is not None else make_schedule("linear", 1000)
        self.mu, self.s = mu, s
        self.image_shape, self.num_classes = SHAPE, None

    def denoiser(self, params, labels=None, guidance=1.0):
        return analytic.gaussian_denoiser(self.schedule, self.mu, self.s)


class ExactFlow:
    """A parameter-free stand-in for FlowObjective: velocity() is the exact Gaussian RF velocity."""

    native_view = "rf"

    def __init__(self, mu=gaussian_flow.MU, s=gaussian_flow.S):
        self.mu, self.s = mu, s
        self.image_shape, self.num_classes = SHAPE, None

    def velocity(self, params, labels=None, guidance=1.0):
        return lambda x, t: gaussian_flow.velocity(x, t, self.mu, self.s)


class ExactPlusCorrection(nn.Module):
    """out(x_t, t) = exact(x_t, t) + MLP(x_t, t) per pixel, the MLP's last layer zero at init.
    t arrives as the objectives feed it: DDPM integer steps, or flow t·1000."""

    exact: object  # (x_t, t_as_fed) -> output in the objective's parametrisation
    hidden: int = 32

    @nn.compact
    def __call__(self, x, t, labels=None, train=False):
        tau = jnp.broadcast_to((t.astype(jnp.float32) / 1000.0)[:, None, None, None], x.shape)
        h = jnp.concatenate([x, tau, jnp.sin(3.0 * tau), jnp.cos(3.0 * tau), x * tau], axis=-1)
        h = jnp.concatenate([nn.gelu(nn.Dense(self.hidden)(h)), h], axis=-1)  # nonlinear + linear
        h = nn.Dense(x.shape[-1], kernel_init=nn.initializers.zeros)(h)
        return self.exact(x, t) + h


def diffusion_objective(learning_rate=3e-3):
    """A v-prediction DiffusionObjective whose network starts as the exact Gaussian teacher."""
    schedule = make_schedule("linear", 1000)
    denoise = analytic.gaussian_denoiser(schedule)

    def exact_v(x_t, t):
        x0, eps = denoise(x_t, t)
        a = schedule.alpha_bar(t)[:, None, None, None]
        return jnp.sqrt(a) * eps - jnp.sqrt(1 - a) * x0

    tx = optax.adam(learning_rate)
    return DiffusionObjective(model=ExactPlusCorrection(exact_v), schedule=schedule, image_shape=SHAPE,
                              tx=tx, lr_schedule=optax.constant_schedule(learning_rate),
                              prediction="v")


def flow_objective(learning_rate=3e-3):
    """A FlowObjective whose network starts as the exact Gaussian RF velocity."""
    exact = lambda x, t: gaussian_flow.velocity(x, t / 1000.0)  # noqa: E731
    tx = optax.adam(learning_rate)
    return FlowObjective(model=ExactPlusCorrection(exact), image_shape=SHAPE, tx=tx,
                         lr_schedule=optax.constant_schedule(learning_rate))
