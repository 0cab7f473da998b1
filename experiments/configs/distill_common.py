"""Shared fields of the distillation configs (progressive_distill_mnist.py,
consistency_distill_mnist.py). The student's network and parametrisation are the teacher's (read
from objective.teacher_workdir); this config's model section is not used."""

import ml_collections

from experiments.configs import common


def distillation(name: str) -> ml_collections.ConfigDict:
    c = common.base_config()
    c.objective.name = name             # progressive_distill | consistency_distill
    c.objective.teacher_workdir = ""    # workdir of a trained ddpm / rectified_flow run (required)
    c.objective.teacher_checkpoint = 0  # the teacher's checkpoint step (0: latest)
    c.objective.teacher_guidance = 1.0  # CFG scale of a conditional teacher's targets
    c.sampler.name = ""                 # "": the student's own sampler (ddim / euler / consistency)
    c.sampler.spacing = "trailing"      # ddpm teachers: the DDIM timestep grid distilled and sampled
    c.optim.learning_rate = 2e-4        # the student starts at the teacher: a small step size
    c.optim.warmup_steps = 0
    c.optim.ema_decay = 0.99            # short rounds: a short EMA
    c.train.sample_every = 0
    return c


def smoke(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The shared smoke shrink, on digits (the teacher of the smoke test is default.py:smoke)."""
    # sample_every 0: the final grid only
    return common.update(common.smoke(c), data=dict(name="digits"), sampler=dict(num_steps=1),
                         train=dict(sample_every=0))
