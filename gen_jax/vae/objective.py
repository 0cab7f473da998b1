"""The VAE objective (Kingma & Welling 2014): negative ELBO = reconstruction + β·KL (β-VAE,
Higgins et al. 2017), with the reparameterisation z = μ + σ·ε. Also encode / decode / interpolate /
mix helpers on trained params. The training loop calls init / step / preview / sample."""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import optax

from gen_jax.nn.vae import VAE
from gen_jax.train.state import TrainState, create_state, gradient_step

LIKELIHOODS = ("gaussian", "bernoulli")


def gaussian_kl(mu, logvar):
    """KL(N(μ, diag σ²) || N(0, I)) per sample, summed over the last axis:
    ½ Σ (μ² + σ² − 1 − log σ²)  (Kingma & Welling 2014, appendix B)."""
    return 0.5 * jnp.sum(mu ** 2 + jnp.exp(logvar) - 1.0 - logvar, axis=-1)


def reparameterize(key, mu, logvar):
    """z = μ + σ·ε, ε ~ N(0, I): a sample of N(μ, σ²) differentiable in (μ, log σ²)."""
    return mu + jnp.exp(0.5 * logvar) * jax.random.normal(key, mu.shape, mu.dtype)


def reconstruction_nll(out, x, likelihood: str, obs_sigma: float = 0.1):
    """−log p(x | z) per sample (up to a constant), summed over pixels; x [B, H, W, C] in [-1, 1].
    gaussian: out is the mean, p = N(out, obs_sigma²); bernoulli: out are logits of (x + 1)/2."""
    if likelihood == "gaussian":
        nll = 0.5 * ((x - out) / obs_sigma) ** 2
    elif likelihood == "bernoulli":
        nll = optax.sigmoid_binary_cross_entropy(out, (x + 1.0) / 2.0)
    else:
        raise ValueError(f"objective.likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return jnp.sum(nll.reshape(x.shape[0], -1), axis=-1)


def lerp(z_a, z_b, w):
    """(1 − w)·z_a + w·z_b for weights w [N] -> [N, D]."""
    w = jnp.asarray(w)[:, None]
    return (1.0 - w) * z_a[None] + w * z_b[None]


def slerp(z_a, z_b, w, eps: float = 1e-7):
    """Spherical interpolation (Shoemake 1985; White 2016 for latents) for weights w [N] -> [N, D];
    keeps the norm typical of N(0, I) samples, which lerp shrinks halfway. Falls back to lerp for
    (anti)parallel endpoints."""
    cos = jnp.dot(z_a, z_b) / (jnp.linalg.norm(z_a) * jnp.linalg.norm(z_b) + eps)
    omega = jnp.arccos(jnp.clip(cos, -1.0, 1.0))
    w = jnp.asarray(w)[:, None]
    so = jnp.sin(omega)
    safe = so > 1e-4
    so = jnp.where(safe, so, 1.0)
    s = jnp.where(safe, jnp.sin((1.0 - w) * omega) / so, 1.0 - w) * z_a[None] + \
        jnp.where(safe, jnp.sin(w * omega) / so, w) * z_b[None]
    return s


@dataclasses.dataclass(frozen=True)
class VAEObjective:
    model: VAE
    image_shape: tuple               # (H, W, C)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    beta: float = 1.0                # weight of the KL term (β-VAE; 1 is the ELBO)
    likelihood: str = "bernoulli"    # gaussian | bernoulli
    obs_sigma: float = 0.1           # std of the Gaussian likelihood
    ema_decay: float = 0.999
    num_classes: None = None         # unconditional (main.run reads this)

    def __post_init__(self):
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"objective.likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        params = self.model.init({"params": k_params}, x, method=VAE.init_all)["params"]
        return create_state(params, self.tx, k_state)

    def loss(self, params, x, key):
        """(mean over the batch of reconstruction + β·KL, metrics) for x [B, H, W, C] in [-1, 1]."""
        mu, logvar = self.model.apply({"params": params}, x, method=VAE.encode)
        z = reparameterize(key, mu, logvar)
        out = self.model.apply({"params": params}, z, method=VAE.decode)
        rec = reconstruction_nll(out, x, self.likelihood, self.obs_sigma)
        kl = gaussian_kl(mu, logvar)
        return jnp.mean(rec + self.beta * kl), {"reconstruction": jnp.mean(rec), "kl": jnp.mean(kl)}

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on a batch {"image": [B,H,W,C]}; labels are ignored."""
        return gradient_step(state, lambda params, key: self.loss(params, batch["image"], key)[0],
                             self.tx, self.lr_schedule, self.ema_decay)

    # --- latent space ---------------------------------------------------------------------
    def encode(self, params, x):
        """x [B, H, W, C] in [-1, 1] -> (μ, log σ²), each [B, latent_dim]."""
        return self.model.apply({"params": params}, x, method=VAE.encode)

    def decode(self, params, z):
        """z [B, latent_dim] -> images [B, H, W, C] in [-1, 1] (the likelihood's mean)."""
        out = self.model.apply({"params": params}, z, method=VAE.decode)
        if self.likelihood == "bernoulli":
            return 2.0 * jax.nn.sigmoid(out) - 1.0
        return jnp.clip(out, -1.0, 1.0)

    def reconstruct(self, params, x):
        """decode(μ(x)): the deterministic reconstruction."""
        return self.decode(params, self.encode(params, x)[0])

    def interpolate(self, params, x_a, x_b, num: int = 8, method: str = "slerp"):
        """Decoded path between the posterior means of two images x_a, x_b [H, W, C]:
        [num, H, W, C], endpoints included."""
        fn = {"slerp": slerp, "lerp": lerp}.get(method)
        if fn is None:
            raise ValueError(f"interpolate method must be 'slerp' or 'lerp', got {method!r}")
        mu = self.encode(params, jnp.stack([x_a, x_b]))[0]
        return self.decode(params, fn(mu[0], mu[1], jnp.linspace(0.0, 1.0, num)))

    def mix(self, params, x_a, x_b, mask):
        """Decode latents taking the dimensions where mask [latent_dim] (bool) is set from x_a's
        posterior mean and the others from x_b's: x_a, x_b [B, H, W, C] -> [B, H, W, C]."""
        mu_a, mu_b = self.encode(params, x_a)[0], self.encode(params, x_b)[0]
        return self.decode(params, jnp.where(jnp.asarray(mask, bool)[None], mu_a, mu_b))

    # --- sampling -------------------------------------------------------------------------
    def sample(self, params, key, num: int | None = None):
        """Images [N, H, W, C] in [-1, 1]: decode z ~ N(0, I) in one decoder call. key: one key
        (with num) or per-sample keys [N, 2]."""
        keys = jax.random.split(key, num) if jnp.ndim(key) == 1 else key
        z = jax.vmap(lambda k: jax.random.normal(k, (self.model.latent_dim,)))(keys)
        return self.decode(params, z)

    def preview(self, params, key, num: int):
        return self.sample(params, key, num)
