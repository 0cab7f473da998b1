"""Noise-conditional MNIST classifier for classifier guidance (use with experiments.sample
--classifier_workdir). Its noise schedule must match the diffusion model's (linear, T = 1000).

python -m experiments.main --config=experiments/configs/classifier_mnist.py --workdir=runs/mnist_clf \
    --config.data.dir=../shared/data
"""

from experiments.configs import common


def get_config(variant: str = ""):
    c = common.base_config()
    c.data.name = "mnist"
    c.objective.name = "noisy_classifier"
    c.model.channels = 16
    c.model.channel_mult = (1, 2, 2)
    c.optim.learning_rate = 1e-3
    c.train.steps = 2000
    c.train.sample_every = 0
    if variant == "smoke":
        common.smoke(c)
        c.train.sample_every = 0
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of classifier_mnist.py; expected '' or 'smoke'")
    return c
