"""Super-resolution diffusion (SR3 with noise-conditioning augmentation) on MNIST 7x7 -> 28x28.

python -m experiments.main --config=experiments/configs/sr_mnist.py --workdir=runs/sr_mnist \
    --config.data.dir=../shared/data
Variants: "" (MNIST x4), "cifar8" (CIFAR-10 8x8 -> 32x32), "cifar16" (CIFAR-10 16x16 -> 32x32),
"smoke" (a seconds-long run of the default).
"""

from experiments.configs import common
from experiments.configs.diffusion_default import general_diffusion


def sr(c):
    """Turn a generalized-diffusion config into a super-resolution one (gen_jax/sr/objective.py)."""
    c.objective.name = "sr"
    c.objective.lowres_size = 7         # the low-res input is lowres_size x lowres_size (box-averaged)
    c.objective.upsample = "bicubic"    # low-res -> full size for the network: bicubic | nearest | bilinear
    c.objective.aug_max = 0.5           # training noise augmentation of the input: level ~ U(0, aug_max)
    c.sampler.aug_level = 0.0           # augmentation level of the input at sampling (0: clean)
    return c


def get_config(variant: str = ""):
    c = sr(general_diffusion(common.base_config()))
    c.data.name = "mnist"
    c.objective.process = "ddpm_cosine"
    c.objective.prediction = "eps"
    c.sampler.name = "ddim"
    c.sampler.num_steps = 50
    c.model.channels = 32
    c.model.channel_mult = (1, 2, 2)
    c.model.num_res_blocks = 1
    c.model.attention_resolutions = (7,)
    c.optim.learning_rate = 1e-3
    c.train.steps = 2000
    c.train.batch_size = 64
    c.train.sample_every = 500
    c.train.num_preview = 16
    c.train.num_final_samples = 0       # samples need low-res inputs: see docs/super_resolution.md
    if variant in ("cifar8", "cifar16"):
        c.data.name = "cifar10"
        c.objective.lowres_size = 8 if variant == "cifar8" else 16
        c.model.channels = 64
        c.model.attention_resolutions = (8,)
    elif variant == "smoke":
        common.smoke(c)
        c.model.channel_mult = (1, 2)
        c.model.attention_resolutions = ()
        c.train.num_final_samples = 0
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of sr_mnist.py; expected '', 'cifar8', "
                         f"'cifar16' or 'smoke'")
    return c
