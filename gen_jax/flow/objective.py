"""Rectified flow (Liu et al. 2022; SD3): a velocity network trained by flow matching on the
straight path x_t = (1 − t)·x0 + t·z (t = 0 data, t = 1 noise), sampled from t = 1 to 0 by
rf_euler / rf_heun or any other sampler. A preset of the one DiffusionObjective."""

from __future__ import annotations

import functools

from gen_jax.diffusion.objective import DiffusionObjective
from gen_jax.diffusion.process import RectifiedFlowPath

# FlowObjective(model=, image_shape=, tx=, lr_schedule=, time_sampling=, logit_mean=, logit_scale=,
# shift=, time_scale=, num_classes=, cond_drop_prob=, ema_decay=, sample_shift=, preview_steps=)
FlowObjective = functools.partial(
    DiffusionObjective, process=RectifiedFlowPath(), prediction="velocity",
    time_sampling="logit_normal", time_scale=1000.0, preview_sampler="rf_euler", preview_steps=20)
