"""Latent diffusion on CIFAR-10: a DDPM U-Net (or, with objective.base=rectified_flow and
sampler.name=euler, rectified flow; model.name=dit for a DiT) on the 8x8x4 scaled latents of the
autoencoder trained by autoencoder_cifar10.py, decoded at the end.

python -m experiments.main --config=experiments/configs/ldm_cifar10.py --workdir=runs/ldm_cifar10 \
    --config.data.dir=../shared/data --config.objective.autoencoder_workdir=runs/ae_cifar10
python -m experiments.sample --workdir=runs/ldm_cifar10 --sampler=ddim --steps=50 --num=100
The smoke variant runs on scikit-learn's 8x8 digits with the autoencoder_cifar10.py:smoke workdir.
"""

from experiments.configs import common
from experiments.configs.rf_default import rectified_flow


def latent_diffusion(c, base: str = "ddpm"):
    """Turn a DDPM config into a latent-diffusion one; it keeps the DDPM fields and adds the
    rectified-flow ones, so objective.base picks either from the command line."""
    sampler = c.sampler.name
    rectified_flow(c)                   # adds objective.time_sampling ... and sampler.shift
    c.sampler.name = sampler if base == "ddpm" else "rf_euler"  # any of gen_jax.samplers.SAMPLERS
    c.objective.name = "latent_diffusion"
    c.objective.base = base             # ddpm | rectified_flow: the objective run on the latents
    c.objective.autoencoder_workdir = ""  # workdir of a trained autoencoder_kl run (required)
    c.objective.latent_scale = 0.0      # latents are multiplied by this; 0: the autoencoder run's
                                        # objective.latent_scale, else 1/std estimated from data
    c.objective.scale_batch = 512       # random training images of the estimate (stored in the autoencoder's workdir)
    c.objective.sample_posterior = True  # train on z ~ q(z|x) (else on its mean)
    return c


def get_config(variant: str = ""):
    c = latent_diffusion(common.base_config())
    c.data.name = "cifar10"
    common.update(c, model=dict(channels=32, channel_mult=(1, 2), num_res_blocks=1,  # 8x8 -> 4x4
                                attention_resolutions=(4,)),
                  optim=dict(learning_rate=1e-3, warmup_steps=100),
                  # tiny and short: 2 shared CPU cores (docs/latent_diffusion.md)
                  train=dict(steps=300, batch_size=32, ckpt_every=100, sample_every=0))
    smoke = common.preset(common.smoke, data=dict(name="digits"), objective=dict(scale_batch=64))
    return common.with_variant(c, variant, "ldm_cifar10.py", smoke=smoke)
