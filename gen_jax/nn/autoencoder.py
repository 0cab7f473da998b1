"""The KL autoencoder of latent diffusion (Rombach et al. 2022, sec. 3.1 and appendix G; the
"AutoencoderKL" of Stable Diffusion, at a small size) and its PatchGAN discriminator (Isola et al.
2017).

Encoder: x [B, H, W, C] -> the moments of a diagonal Gaussian posterior over latents
[B, H/f, W/f, latent_channels], f = 2^(len(channel_mult) − 1) (channel_mult (1, 2, 2): f = 4;
(1, 2, 2, 4): f = 8). Decoder: z [B, H/f, W/f, latent_channels] -> x̂ [B, H, W, C]. Residual blocks
with GroupNorm and swish, strided-conv downsampling, nearest-neighbour upsampling; no attention
(the small sizes here do not need it).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen_jax.nn.layers import SelfAttention2D, group_norm


def downsample_factor(channel_mult: Sequence[int]) -> int:
    """f: every level but the last halves H and W."""
    return 2 ** (len(channel_mult) - 1)


class ResBlock(nn.Module):
    out_channels: int

    @nn.compact
    def __call__(self, x):
        h = nn.Conv(self.out_channels, (3, 3))(nn.swish(group_norm(x.shape[-1])(x)))
        h = nn.Conv(self.out_channels, (3, 3))(nn.swish(group_norm(self.out_channels)(h)))
        if x.shape[-1] != self.out_channels:
            x = nn.Conv(self.out_channels, (1, 1))(x)
        return x + h


class Encoder(nn.Module):
    """x [B, H, W, C] -> (mean, logvar), each [B, H/f, W/f, latent_channels]."""

    channels: int = 32
    channel_mult: Sequence[int] = (1, 2, 2)
    num_res_blocks: int = 1
    latent_channels: int = 4
    mid_attention: bool = False  # middle = ResBlock, self-attention, ResBlock (Stable Diffusion's VAE)
    clip_logvar: bool = True     # False: raw moments (AutoencoderKL(quant_conv=True) clips after its conv)

    @nn.compact
    def __call__(self, x):
        h = nn.Conv(self.channels, (3, 3))(x)
        for level, mult in enumerate(self.channel_mult):
            for _ in range(self.num_res_blocks):
                h = ResBlock(self.channels * mult)(h)
            if level != len(self.channel_mult) - 1:
                h = nn.Conv(h.shape[-1], (3, 3), strides=(2, 2))(h)
        h = ResBlock(h.shape[-1])(h)
        if self.mid_attention:
            h = ResBlock(h.shape[-1])(SelfAttention2D(num_heads=1)(h))
        h = nn.swish(group_norm(h.shape[-1])(h))
        moments = nn.Conv(2 * self.latent_channels, (3, 3))(h)
        mean, logvar = jnp.split(moments, 2, axis=-1)
        # as in the reference implementation: keeps exp(logvar) finite early in training
        return mean, jnp.clip(logvar, -30.0, 20.0) if self.clip_logvar else logvar


class Decoder(nn.Module):
    """z [B, h, w, latent_channels] -> x̂ [B, h·f, w·f, out_channels] (unbounded; the loss compares
    it with x in [-1, 1])."""

    out_channels: int
    channels: int = 32
    channel_mult: Sequence[int] = (1, 2, 2)
    num_res_blocks: int = 1
    mid_attention: bool = False  # as Encoder.mid_attention

    @nn.compact
    def __call__(self, z):
        h = nn.Conv(self.channels * self.channel_mult[-1], (3, 3))(z)
        h = ResBlock(h.shape[-1])(h)
        if self.mid_attention:
            h = ResBlock(h.shape[-1])(SelfAttention2D(num_heads=1)(h))
        for level, mult in reversed(list(enumerate(self.channel_mult))):
            for _ in range(self.num_res_blocks + 1):
                h = ResBlock(self.channels * mult)(h)
            if level != 0:
                b, hh, ww, cc = h.shape
                h = jax.image.resize(h, (b, 2 * hh, 2 * ww, cc), "nearest")
                h = nn.Conv(cc, (3, 3))(h)
        h = nn.swish(group_norm(h.shape[-1])(h))
        # the last layer: the adaptive adversarial weight compares gradients at its kernel
        return nn.Conv(self.out_channels, (3, 3), name="conv_out")(h)


class AutoencoderKL(nn.Module):
    """apply(vars, x) -> (mean, logvar); method=AutoencoderKL.decode maps z -> x̂.
    H and W must be divisible by f = 2^(len(channel_mult) − 1)."""

    image_shape: tuple                  # (H, W, C)
    channels: int = 32
    channel_mult: Sequence[int] = (1, 2, 2)
    num_res_blocks: int = 1
    latent_channels: int = 4
    # Stable Diffusion's VAE (stabilityai/sd-vae-ft-mse; gen_jax/interop/autoencoder.py): attention
    # in the middle of encoder and decoder, and 1x1 convolutions on the moments and on z.
    mid_attention: bool = False
    quant_conv: bool = False

    def setup(self):
        height, width, c = self.image_shape
        f = downsample_factor(self.channel_mult)
        if height % f or width % f:
            raise ValueError(f"AutoencoderKL with {len(self.channel_mult)} levels downsamples by {f}: "
                             f"H and W must be divisible by {f}; got {height}x{width}")
        self.encoder = Encoder(self.channels, tuple(self.channel_mult), self.num_res_blocks,
                               self.latent_channels, self.mid_attention, not self.quant_conv)
        self.decoder = Decoder(c, self.channels, tuple(self.channel_mult), self.num_res_blocks,
                               self.mid_attention)
        if self.quant_conv:
            self.quant = nn.Conv(2 * self.latent_channels, (1, 1))
            self.post_quant = nn.Conv(self.latent_channels, (1, 1))

    def __call__(self, x):
        return self.encode(x)

    def encode(self, x):
        mean, logvar = self.encoder(x)
        if self.quant_conv:  # on the raw moments; then the clip the encoder otherwise applies
            mean, logvar = jnp.split(self.quant(jnp.concatenate([mean, logvar], -1)), 2, axis=-1)
            logvar = jnp.clip(logvar, -30.0, 20.0)
        return mean, logvar

    def decode(self, z):
        if self.quant_conv:
            z = self.post_quant(z)
        return self.decoder(z).astype(jnp.float32)

    def init_all(self, x):
        """For init: touches encoder and decoder."""
        mean, _ = self.encode(x)
        return self.decode(mean)

    @property
    def latent_shape(self) -> tuple:
        height, width, _ = self.image_shape
        f = downsample_factor(self.channel_mult)
        return (height // f, width // f, self.latent_channels)


class PatchDiscriminator(nn.Module):
    """PatchGAN critic (Isola et al. 2017, the "NLayerDiscriminator" of pix2pix and taming):
    x [B, H, W, C] -> logits [B, H', W'], one per overlapping patch. 4×4 convolutions, stride 2
    for the first num_layers, then two of stride 1, padding 1 (H' = H/2^num_layers − 2);
    LeakyReLU 0.2. No normalisation (the
    reference's batch norm would need mutable state; the patch critic trains without it here)."""

    channels: int = 32
    num_layers: int = 2

    @nn.compact
    def __call__(self, x):
        conv = lambda c, s: nn.Conv(c, (4, 4), strides=(s, s), padding=1)  # noqa: E731  (pix2pix's)
        h = nn.leaky_relu(conv(self.channels, 2)(x), 0.2)
        for i in range(1, self.num_layers):
            h = nn.leaky_relu(conv(self.channels * min(2 ** i, 8), 2)(h), 0.2)
        h = nn.leaky_relu(conv(self.channels * min(2 ** self.num_layers, 8), 1)(h), 0.2)
        return conv(1, 1)(h)[..., 0]
