"""EDM (Karras et al. 2022) on MNIST: the U-Net of ddpm_mnist.py with EDM's σ path, preconditioning,
log-normal σ training and Heun on its σ grid (18 steps, 35 network calls), class-conditional with
label dropout for CFG. The MNIST default: 1,500 steps of batch 64 (about 25 minutes on one CPU
core) give clean digits in the final Heun-18 grid; docs/diffusion.md compares it with ddpm_mnist.py
trained for the same 1,500 steps (--config.train.steps=1500).

python -m experiments.main --config=experiments/configs/edm_mnist.py --workdir=runs/edm_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common, diffusion_default


def get_config(variant: str = ""):
    c = diffusion_default.edm(diffusion_default.general_diffusion(common.mnist_unet(common.base_config())))
    c.train.steps = 1500
    return common.with_variant(c, variant, "edm_mnist.py")
