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


def vae_run(c, data: str, steps: int, batch_size: int, sample_every: int):
    """The small convolutional VAE of vae_default and vae_mnist on `data`."""
    c.data.name = data
    return common.update(c, model=dict(channels=32, channel_mult=(1, 2)),
                         optim=dict(learning_rate=1e-3, warmup_steps=100),
                         train=dict(steps=steps, batch_size=batch_size, sample_every=sample_every))


def get_config(variant: str = ""):
    c = vae_run(vae_config(common.base_config(), latent_dim=8), "digits", 2000, 64, 500)
    return common.with_variant(c, variant, "vae_default.py")
