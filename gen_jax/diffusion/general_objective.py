"""Generalized diffusion: a network on any process of process.py in any prediction target, with
t ∈ [0, 1] fed as t·time_scale (also on DDPM's tables). A preset of the one DiffusionObjective."""

from __future__ import annotations

import functools

from gen_jax.diffusion.objective import DiffusionObjective, process_loss  # noqa: F401
from gen_jax.samplers.registry import SAMPLERS

ALL_SAMPLERS = tuple(SAMPLERS)

# GeneralDiffusionObjective(model=, process=, image_shape=, tx=, lr_schedule=, prediction=,
# time_sampling=, logit_mean=, logit_scale=, shift=, time_scale=, num_classes=, cond_drop_prob=,
# ema_decay=, vp_timesteps=, preview_sampler=, preview_steps=)
GeneralDiffusionObjective = functools.partial(DiffusionObjective, time_scale=1000.0)
