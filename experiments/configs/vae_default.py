"""A convolutional VAE on scikit-learn's 8x8 digits (no data directory needed).

python -m experiments.main --config=experiments/configs/vae_default.py --workdir=runs/vae_default
"""

from experiments.configs import common


def vae_config(c, latent_dim: int = 16):
    """Turn a base config into a VAE one: model.name 'vae', its fields and the objective's."""
    c.model.name = "vae"
    c.model.latent_dim = latent_dim     # size of the latent vector z
    c.objective.name = "vae"
    c.objective.beta = 1.0              # weight of the KL term (1: the ELBO; β-VAE otherwise)
    c.objective.likelihood = "bernoulli"  # p(x|z): bernoulli (logits of (x+1)/2) | gaussian
    c.objective.obs_sigma = 0.1         # std of the gaussian likelihood
    return c


def get_config(variant: str = ""):
    c = vae_config(common.base_config(), latent_dim=8)
    c.data.name = "digits"
    c.model.channels = 32
    c.model.channel_mult = (1, 2)
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 100
    c.train.steps = 2000
    c.train.batch_size = 64
    c.train.sample_every = 500
    if variant == "smoke":
        common.smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of vae_default.py; expected '' or 'smoke'")
    return c
