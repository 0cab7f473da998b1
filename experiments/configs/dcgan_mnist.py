"""DCGAN on MNIST (28x28: 7 -> 14 -> 28), non-saturating loss (Radford et al. 2016).

python -m experiments.main --config=experiments/configs/dcgan_mnist.py --workdir=runs/dcgan_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import gan_common


def get_config(variant: str = ""):
    c = gan_common.gan_config()
    c.model.channels = 64
    c.objective.loss = "nonsaturating"
    gan_common.mnist_run(c)
    if variant == "smoke":
        gan_common.smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of dcgan_mnist.py; expected '' or 'smoke'")
    return c
