"""U-Net DDPM on MNIST (28x28), class-conditional with label dropout for CFG.

python -m experiments.main --config=experiments/configs/ddpm_mnist.py --workdir=runs/mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common


def get_config(variant: str = ""):
    return common.with_variant(common.mnist_unet(common.base_config()), variant, "ddpm_mnist.py")
