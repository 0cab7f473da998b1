"""The embedded default: a small DDPM on scikit-learn's 8x8 digits (no data directory needed).

python -m experiments.main --config=experiments/configs/default.py --workdir=runs/default
"""

from experiments.configs import common


def get_config(variant: str = ""):
    c = common.base_config()
    c.data.name = "digits"
    c.model.class_conditional = True
    c.objective.cond_drop_prob = 0.1
    c.optim.learning_rate = 1e-3
    c.train.steps = 2500
    c.train.batch_size = 64
    c.train.sample_every = 500
    if variant == "smoke":
        common.smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of default.py; expected '' or 'smoke'")
    return c
