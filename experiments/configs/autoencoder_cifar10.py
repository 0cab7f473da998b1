"""A small KL autoencoder (latent diffusion's first stage) on CIFAR-10 32x32: x4 downsampling to
8x8x4 latents, L1 reconstruction + 1e-6 KL + a PatchGAN hinge loss switched on after
objective.disc_start steps with the adaptive weight.

python -m experiments.main --config=experiments/configs/autoencoder_cifar10.py \
    --workdir=runs/ae_cifar10 --config.data.dir=../shared/data
The smoke variant trains on scikit-learn's 8x8 digits (no data directory; 2x2x4 latents).
"""

from experiments.configs import common


def autoencoder_config(c):
    """Turn a base config into a KL-autoencoder one (model.name/objective.name 'autoencoder_kl')."""
    c.model.name = "autoencoder_kl"
    c.model.channels = 16               # base width of encoder and decoder
    c.model.channel_mult = (1, 2, 2)    # width per level; downsampling f = 2^(levels-1): 4 here, (1, 2, 2, 4) for 8
    c.model.num_res_blocks = 1          # residual blocks per level (decoder: one more)
    c.model.latent_channels = 4         # channels of the latent map
    c.model.d_channels = 16             # PatchGAN discriminator's first width (doubles per layer)
    c.model.d_layers = 2                # stride-2 layers of the discriminator (patch size grows with it)
    c.objective.name = "autoencoder_kl"
    c.objective.reconstruction = "l1"   # l1 | l2, mean per pixel
    c.objective.kl_weight = 1e-6        # KL(q(z|x) || N(0, I)) summed over latents / pixel count
    c.objective.disc_loss = "hinge"     # hinge | nonsaturating | minimax (gen_jax/gan/losses.py)
    c.objective.disc_start = 150        # steps before the adversarial term and D's updates begin
    c.objective.disc_weight = 0.5       # fixed adversarial weight, or the factor on the adaptive one
    c.objective.adaptive = True         # adaptive weight: ratio of gradient norms at the decoder's last layer
    c.optim.learning_rate = 1e-3        # autoencoder's Adam learning rate
    c.optim.d_learning_rate = 1e-3      # discriminator's Adam learning rate
    c.optim.b1 = 0.5                    # Adam β1 for both (taming: 0.5)
    c.optim.b2 = 0.9                    # Adam β2 for both (taming: 0.9)
    c.optim.warmup_steps = 100          # linear warm-up steps
    c.optim.ema_decay = 0.999           # EMA of the autoencoder's parameters (what latent diffusion uses)
    c.train.sample_every = 0            # previews are decoded N(0, I) latents: off by default
    return c


def get_config(variant: str = ""):
    c = autoencoder_config(common.base_config())
    c.data.name = "cifar10"
    c.train.update(steps=300, batch_size=16, ckpt_every=100)  # tiny: 2 shared CPU cores (docs/latent_diffusion.md)
    smoke = common.preset(common.smoke, data=dict(name="digits"), model=dict(d_channels=8, d_layers=1),
                          objective=dict(disc_start=1))  # the second step trains with the adversarial term
    return common.with_variant(c, variant, "autoencoder_cifar10.py", smoke=smoke)
