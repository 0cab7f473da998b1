"""StyleGAN2-style generator on MNIST (gen_jax/nn/stylegan.py: mapping network, modulated
convolutions, noise inputs, style mixing 0.9; synthesised at 32 px from a 4×4 constant and
centre-cropped to 28) against the SNGAN ResNet discriminator without spectral norm; the
non-saturating loss with R1 on real data (Karras et al. 2020; γ = 0.01 as StyleGAN2-ADA's CIFAR
setting), Adam(2.5e-3, β = (0, 0.99)), G EMA decay 0.995 (about the official 10k-image
half-life at batch 64).

python -m experiments.main --config=experiments/configs/stylegan2_mnist.py --workdir=runs/stylegan2_mnist \
    --config.data.dir=../shared/data
python -m experiments.sample --workdir=runs/stylegan2_mnist --num=100 --truncation=0.7 --out=trunc.npz
"""

from experiments.configs import common, gan_common


def get_config(variant: str = ""):
    c = gan_common.gan_config()
    c.model.name = "stylegan2"
    c.model.channels = 64
    c.model.d_channels = 64
    c.model.z_dim = 128
    # w_dim 128, 4 mapping layers, style mixing 0.9, D without spectral norm: gan_common's defaults
    c.objective.r1_gamma = 0.01
    gan_common.adam(c, 2.5e-3, 2.5e-3, b1=0.0, b2=0.99)
    c.optim.ema_decay = 0.995
    gan_common.mnist_run(c)
    return common.with_variant(c, variant, "stylegan2_mnist.py", smoke=common.preset(gan_common.smoke, model=dict(d_channels=8)))
