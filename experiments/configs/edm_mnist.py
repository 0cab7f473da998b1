"""EDM (Karras et al. 2022) on MNIST: the U-Net of ddpm_mnist.py with EDM's σ path, preconditioning,
log-normal σ training and Heun on its σ grid (18 steps, 35 network calls), class-conditional with
label dropout for CFG. The same budget as ddpm_mnist.py, for the EDM-vs-DDPM comparison.

python -m experiments.main --config=experiments/configs/edm_mnist.py --workdir=runs/edm_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common, diffusion_default


def get_config(variant: str = ""):
    c = diffusion_default.edm(diffusion_default.general_diffusion(common.mnist_unet(common.base_config())))
    return common.with_variant(c, variant, "edm_mnist.py")
