"""A convolutional VAE (Kingma & Welling 2014) for x [B, H, W, C]: the encoder gives the mean and
log-variance of a Gaussian over a latent vector z [B, latent_dim]; the decoder maps z to per-pixel
outputs (the Gaussian mean, or Bernoulli logits, as the objective reads them)."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen_jax.nn.layers import group_norm


class Encoder(nn.Module):
    channels: int = 32
    channel_mult: Sequence[int] = (1, 2)
    latent_dim: int = 16

    @nn.compact
    def __call__(self, x):
        h = nn.Conv(self.channels, (3, 3))(x)
        for mult in self.channel_mult:  # each level halves H and W
            h = nn.swish(group_norm(h.shape[-1])(h))
            h = nn.Conv(self.channels * mult, (3, 3), strides=(2, 2))(h)
        h = nn.swish(group_norm(h.shape[-1])(h)).reshape(h.shape[0], -1)
        mu, logvar = jnp.split(nn.Dense(2 * self.latent_dim)(h), 2, axis=-1)
        return mu, logvar


class Decoder(nn.Module):
    image_shape: tuple                  # (H, W, C) of the output
    channels: int = 32
    channel_mult: Sequence[int] = (1, 2)

    @nn.compact
    def __call__(self, z):
        height, width, c_out = self.image_shape
        f = 2 ** len(self.channel_mult)
        top = self.channels * self.channel_mult[-1]
        h = nn.Dense(height // f * width // f * top)(z).reshape(z.shape[0], height // f, width // f, top)
        for mult in reversed(self.channel_mult):
            h = nn.swish(group_norm(h.shape[-1])(h))
            b, hh, ww, cc = h.shape
            h = jax.image.resize(h, (b, 2 * hh, 2 * ww, cc), "nearest")
            h = nn.Conv(self.channels * mult, (3, 3))(h)
        h = nn.swish(group_norm(h.shape[-1])(h))
        return nn.Conv(c_out, (3, 3))(h)


class VAE(nn.Module):
    """apply(params, x) -> (mu, logvar); method=VAE.decode maps z [B, latent_dim] -> [B, H, W, C].
    H and W must be divisible by 2^len(channel_mult)."""

    image_shape: tuple
    channels: int = 32
    channel_mult: Sequence[int] = (1, 2)
    latent_dim: int = 16

    def setup(self):
        height, width, _ = self.image_shape
        f = 2 ** len(self.channel_mult)
        if height % f or width % f:
            raise ValueError(f"VAE with {len(self.channel_mult)} levels needs H and W divisible by {f}; "
                             f"got {height}x{width}")
        self.encoder = Encoder(self.channels, tuple(self.channel_mult), self.latent_dim)
        self.decoder = Decoder(tuple(self.image_shape), self.channels, tuple(self.channel_mult))

    def __call__(self, x):
        return self.encode(x)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z).astype(jnp.float32)

    def init_all(self, x):
        """For init: touches encoder and decoder."""
        mu, _ = self.encode(x)
        return self.decode(mu)
