"""DCGAN on MNIST (28x28: 7 -> 14 -> 28), non-saturating loss (Radford et al. 2016).

python -m experiments.main --config=experiments/configs/dcgan_mnist.py --workdir=runs/dcgan_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common, gan_common


def get_config(variant: str = ""):
    c = gan_common.gan_config()
    c.model.channels = 64
    c.objective.loss = "nonsaturating"
    gan_common.mnist_run(c)
    return common.with_variant(c, variant, "dcgan_mnist.py", smoke=gan_common.smoke)
