"""Progressive distillation (Salimans & Ho 2022) of an MNIST teacher, 8 -> 4 -> 2 -> 1 steps in
one run (three rounds of train.steps / 3 optimiser steps; a checkpoint at the end of each round
holds that round's student). The teacher is a ddpm (DDIM teacher) or rectified_flow (Euler
teacher) workdir of experiments.main.

python -m experiments.main --config=experiments/configs/progressive_distill_mnist.py \
    --workdir=runs/pd_mnist --config.objective.teacher_workdir=runs/mnist --config.data.dir=../shared/data
"""

from experiments.configs import common, distill_common


def get_config(variant: str = ""):
    c = distill_common.distillation("progressive_distill")
    c.data.name = "mnist"
    c.objective.teacher_steps = 8       # N: the teacher's sampler steps in the first round
    c.objective.rounds = 3              # halvings: the student samples in N / 2**rounds steps
    c.sampler.num_steps = 1             # the final grid: N / 2**rounds
    c.train.steps = 1500                # rounds x steps per round
    c.train.batch_size = 64
    c.train.ckpt_every = 500            # = steps per round: every round's student is kept
    c.train.keep_checkpoints = 4
    smoke = common.preset(distill_common.smoke, objective=dict(teacher_steps=4, rounds=2))  # 1 step per round
    return common.with_variant(c, variant, "progressive_distill_mnist.py", smoke=smoke)
