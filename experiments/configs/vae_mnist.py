"""A convolutional VAE on MNIST (28x28 -> 7x7 features -> 16-d latent), Bernoulli likelihood.

python -m experiments.main --config=experiments/configs/vae_mnist.py --workdir=runs/vae_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common
from experiments.configs.vae_default import vae_config


def get_config(variant: str = ""):
    c = vae_config(common.base_config(), latent_dim=16)
    c.data.name = "mnist"
    c.model.channels = 32
    c.model.channel_mult = (1, 2)
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 100
    c.train.steps = 5000
    c.train.batch_size = 128
    c.train.sample_every = 1000
    if variant == "smoke":
        common.smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of vae_mnist.py; expected '' or 'smoke'")
    return c
