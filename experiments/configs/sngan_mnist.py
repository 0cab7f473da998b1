"""SNGAN on MNIST: the ResNet generator (batch norm) and discriminator (spectral norm) of Miyato et
al. 2018 (appendix B; 28 px: 7 -> 14 -> 28), hinge loss, n_dis = 5, Adam(2e-4, β = (0, 0.9)).

python -m experiments.main --config=experiments/configs/sngan_mnist.py --workdir=runs/sngan_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common, gan_common


def get_config(variant: str = ""):
    c = gan_common.gan_config()
    c.model.name = "sngan"
    c.model.channels = 128              # SNGAN CIFAR: G 256, D 128; MNIST needs less
    c.model.d_channels = 128
    c.model.z_dim = 128
    c.model.d_spectral_norm = True
    c.objective.loss = "hinge"
    c.objective.n_critic = 5
    gan_common.adam(c, 2e-4, 2e-4, b1=0.0, b2=0.9)
    gan_common.mnist_run(c)
    return common.with_variant(c, variant, "sngan_mnist.py", smoke=common.preset(gan_common.smoke, model=dict(d_channels=8), objective=dict(n_critic=2)))
