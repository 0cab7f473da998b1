"""WGAN-GP on MNIST: DCGAN networks, Wasserstein loss with gradient penalty λ = 10, 5 critic
updates per generator update, Adam(1e-4, β = (0, 0.9)) (Gulrajani et al. 2017, alg. 1).

python -m experiments.main --config=experiments/configs/wgan_gp_mnist.py --workdir=runs/wgan_gp_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common, gan_common


def get_config(variant: str = ""):
    c = gan_common.gan_config()
    c.model.channels = 64
    c.objective.loss = "wgan-gp"
    c.objective.n_critic = 5
    c.objective.gp_weight = 10.0
    gan_common.adam(c, 1e-4, 1e-4, b1=0.0, b2=0.9)
    gan_common.mnist_run(c)
    return common.with_variant(c, variant, "wgan_gp_mnist.py",
                               smoke=common.preset(gan_common.smoke, objective=dict(n_critic=2)))
