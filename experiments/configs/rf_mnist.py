"""Rectified flow on MNIST (28x28) with the U-Net of ddpm_mnist.py as velocity net,
class-conditional with label dropout for classifier-free guidance.

python -m experiments.main --config=experiments/configs/rf_mnist.py --workdir=runs/rf_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common
from experiments.configs.rf_default import rectified_flow


def get_config(variant: str = ""):
    c = common.mnist_unet(rectified_flow(common.base_config()))
    c.sampler.num_steps = 20
    return common.with_variant(c, variant, "rf_mnist.py")
