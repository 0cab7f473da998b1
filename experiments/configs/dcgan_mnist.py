"""DCGAN on MNIST (28x28: 7 -> 14 -> 28), non-saturating loss (Radford et al. 2016).

python -m experiments.main --config=experiments/configs/dcgan_mnist.py --workdir=runs/dcgan_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import gan_common


def get_config(variant: str = ""):
    c = gan_common.gan_config()
    c.data.name = "mnist"
    c.model.channels = 64
    c.objective.loss = "nonsaturating"
    c.train.steps = 5000
    c.train.batch_size = 64
    c.train.ckpt_every = 500
    c.train.sample_every = 500
    if variant == "smoke":
        gan_common.smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of dcgan_mnist.py; expected '' or 'smoke'")
    return c
