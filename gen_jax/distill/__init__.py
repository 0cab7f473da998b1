"""Few-step students of diffusion and rectified-flow teachers: progressive distillation
(Salimans & Ho 2022) and consistency distillation (Song et al. 2023)."""

from gen_jax.distill.consistency import (ConsistencyDistillObjective, consistency_fn,  # noqa: F401
                                         consistency_loss, consistency_sample, skip_out)
from gen_jax.distill.progressive import (ProgressiveDistillObjective, progressive_loss,  # noqa: F401
                                         progressive_target)
from gen_jax.distill.teacher import ConsistencyState, TeacherODE, TeacherState  # noqa: F401
