"""DiT DDPM on MNIST (28x28, patch 4 -> 7x7 tokens), class-conditional with label dropout for CFG.

python -m experiments.main --config=experiments/configs/dit_mnist.py --workdir=runs/dit_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common


def dit_smoke(c):
    """common.smoke, then a two-block DiT of width 32."""
    common.smoke(c)
    c.model.depth = 2
    c.model.hidden_size = 32
    c.model.num_heads = 2
    return c


def get_config(variant: str = ""):
    c = common.base_config()
    c.data.name = "mnist"
    c.model.name = "dit"
    c.model.patch_size = 4
    c.model.depth = 6
    c.model.hidden_size = 192
    c.model.num_heads = 6
    c.model.class_conditional = True
    c.objective.cond_drop_prob = 0.1
    c.optim.learning_rate = 3e-4
    c.optim.warmup_steps = 200
    c.train.steps = 6000
    c.train.batch_size = 64
    c.train.ckpt_every = 500
    c.train.sample_every = 1000
    if variant == "smoke":
        dit_smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of dit_mnist.py; expected '' or 'smoke'")
    return c
