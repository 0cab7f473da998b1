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
    common.update(c, objective=dict(process="ddpm_cosine", prediction="eps"),
                  sampler=dict(name="ddim", num_steps=50),
                  model=dict(channels=32, channel_mult=(1, 2, 2), num_res_blocks=1, attention_resolutions=(7,)),
                  optim=dict(learning_rate=1e-3),
                  # num_final_samples 0: samples need low-res inputs (docs/super_resolution.md)
                  train=dict(steps=2000, batch_size=64, sample_every=500, num_preview=16, num_final_samples=0))

    def cifar(lowres_size):
        return common.preset(data=dict(name="cifar10"), objective=dict(lowres_size=lowres_size),
                             model=dict(channels=64, attention_resolutions=(8,)))

    smoke = common.preset(common.smoke, model=dict(channel_mult=(1, 2), attention_resolutions=()),
                          train=dict(num_final_samples=0))
    return common.with_variant(c, variant, "sr_mnist.py", cifar8=cifar(8), cifar16=cifar(16), smoke=smoke)
