"""A small DiT DDPM on scikit-learn's 8x8 digits (patch 2 -> 4x4 tokens; no data directory needed).

python -m experiments.main --config=experiments/configs/dit_default.py --workdir=runs/dit_default
"""

from experiments.configs import common
from experiments.configs.dit_mnist import dit_smoke


def get_config(variant: str = ""):
    c = common.base_config()
    c.data.name = "digits"
    c.model.name = "dit"
    c.model.patch_size = 2
    c.model.depth = 4
    c.model.hidden_size = 128
    c.model.num_heads = 4
    c.model.class_conditional = True
    c.objective.cond_drop_prob = 0.1
    c.optim.learning_rate = 3e-4
    c.train.steps = 3000
    c.train.batch_size = 64
    c.train.sample_every = 500
    if variant == "smoke":
        dit_smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of dit_default.py; expected '' or 'smoke'")
    return c
