"""Rectified flow on MNIST (28x28) with the U-Net of ddpm_mnist.py as velocity net,
class-conditional with label dropout for classifier-free guidance.

python -m experiments.main --config=experiments/configs/rf_mnist.py --workdir=runs/rf_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common
from experiments.configs.rf_default import rectified_flow


def get_config(variant: str = ""):
    c = rectified_flow(common.base_config())
    c.data.name = "mnist"
    c.model.channels = 16
    c.model.channel_mult = (1, 2, 4)
    c.model.num_res_blocks = 1
    c.model.attention_resolutions = (7,)
    c.model.class_conditional = True
    c.objective.cond_drop_prob = 0.1
    c.sampler.num_steps = 20
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 200
    c.train.steps = 4000
    c.train.batch_size = 64
    c.train.ckpt_every = 250
    c.train.sample_every = 1000
    if variant == "smoke":
        common.smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of rf_mnist.py; expected '' or 'smoke'")
    return c
