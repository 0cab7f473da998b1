"""Diffusion math: schedules, forward process, prediction targets and losses."""

from gen_jax.diffusion.schedules import (  # noqa: F401
    DiscreteSchedule,
    beta_schedule,
    forward_step,
    make_schedule,
    q_sample,
)
from gen_jax.diffusion.losses import diffusion_loss, predict_x0_eps, target  # noqa: F401
