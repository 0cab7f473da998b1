"""Consistency distillation (Song et al. 2023) of an MNIST teacher (ddpm: DDIM steps, or
rectified_flow: Euler steps on the teacher's ODE), sampled in 1 (or 2, 4: --steps) network calls.

python -m experiments.main --config=experiments/configs/consistency_distill_mnist.py \
    --workdir=runs/cd_mnist --config.objective.teacher_workdir=runs/mnist --config.data.dir=../shared/data
"""

from experiments.configs import common, distill_common


def get_config(variant: str = ""):
    c = distill_common.distillation("consistency_distill")
    c.data.name = "mnist"
    c.objective.num_scales = 18         # N: teacher-ODE grid points (one teacher step between pairs)
    c.objective.sigma_data = 0.5        # σ_data of the skip/out parametrisation
    c.objective.target_ema = 0.95       # μ of the target network θ⁻
    c.objective.loss = "l2"             # l2 | pseudo_huber
    c.sampler.num_steps = 1             # multistep consistency sampling: network calls
    c.train.update(steps=1500, batch_size=64, ckpt_every=500)
    smoke = common.preset(distill_common.smoke, objective=dict(num_scales=4))
    return common.with_variant(c, variant, "consistency_distill_mnist.py", smoke=smoke)
