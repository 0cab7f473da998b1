"""U-Net DDPM on CIFAR-10 (32x32 RGB), class-conditional with label dropout for CFG: the U-Net of
Ho et al. 2020 for CIFAR-10 (channels 128, multipliers 1,2,2,2, two res blocks per level, attention
at 16x16, dropout 0.1). 38.3 M parameters here (the paper: 35.7 M; AdaGN scale-shift layers and
the class embedding add the rest). Sized for an accelerator.

python -m experiments.main --config=experiments/configs/ddpm_cifar10.py --workdir=runs/cifar10 \
    --config.data.dir=../shared/data
"""

from experiments.configs import common


def get_config(variant: str = ""):
    c = common.base_config()
    c.data.name = "cifar10"
    c.model.channels = 128
    c.model.channel_mult = (1, 2, 2, 2)
    c.model.num_res_blocks = 2
    c.model.attention_resolutions = (16,)
    c.model.dropout = 0.1
    c.model.class_conditional = True
    c.objective.cond_drop_prob = 0.1
    c.optim.learning_rate = 2e-4
    c.optim.warmup_steps = 5000
    c.train.steps = 800_000
    c.train.batch_size = 128
    c.train.ckpt_every = 5000
    c.train.sample_every = 10_000
    if variant == "smoke":
        common.smoke(c)
        c.model.channel_mult = (1, 2)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of ddpm_cifar10.py; expected '' or 'smoke'")
    return c
