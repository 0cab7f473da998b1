"""A convolutional VAE on MNIST (28x28 -> 7x7 features -> 16-d latent), Bernoulli likelihood.

python -m experiments.main --config=experiments/configs/vae_mnist.py --workdir=runs/vae_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common
from experiments.configs.vae_default import vae_config, vae_run


def get_config(variant: str = ""):
    c = vae_run(vae_config(common.base_config(), latent_dim=16), "mnist", 5000, 128, 1000)
    return common.with_variant(c, variant, "vae_mnist.py")
