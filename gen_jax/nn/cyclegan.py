"""CycleGAN's networks (Zhu et al. 2017, appendix 7.2), sized by arguments: a ResNet generator
(c7s1-k, two stride-2 downsamplings, residual blocks, two upsamplings, c7s1-C with tanh; instance
normalisation) and a PatchGAN discriminator (stride-2 4x4 convolutions, leaky ReLU, a logit per
overlapping patch). x [B, H, W, C] in [-1, 1], H and W divisible by 4."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def instance_norm() -> nn.GroupNorm:
    """Instance normalisation = GroupNorm with one channel per group (Ulyanov et al. 2016)."""
    return nn.GroupNorm(num_groups=None, group_size=1)


class ResidualBlock(nn.Module):
    @nn.compact
    def __call__(self, h):
        c = h.shape[-1]
        r = nn.relu(instance_norm()(nn.Conv(c, (3, 3))(h)))
        return h + instance_norm()(nn.Conv(c, (3, 3))(r))


class ResnetGenerator(nn.Module):
    """x [B, H, W, C] -> [B, H, W, out_channels] in [-1, 1] (tanh)."""

    out_channels: int = 3
    channels: int = 32                  # k of c7s1-k (the paper: 64)
    num_blocks: int = 6                 # residual blocks at H/4 (the paper: 6 at 128², 9 at 256²)

    @nn.compact
    def __call__(self, x):
        h = nn.relu(instance_norm()(nn.Conv(self.channels, (7, 7))(x)))
        for mult in (2, 4):  # d2k, d4k
            h = nn.relu(instance_norm()(nn.Conv(self.channels * mult, (3, 3), strides=(2, 2))(h)))
        for _ in range(self.num_blocks):
            h = ResidualBlock()(h)
        for mult in (2, 1):  # u2k, uk: fractional-strided convolutions
            h = nn.relu(instance_norm()(nn.ConvTranspose(self.channels * mult, (3, 3), strides=(2, 2))(h)))
        return jnp.tanh(nn.Conv(self.out_channels, (7, 7))(h))


class PatchDiscriminator(nn.Module):
    """x [B, H, W, C] -> patch logits [B, H / 2^(layers), W / 2^(layers), 1] (least-squares GAN
    targets, no sigmoid). The first layer has no normalisation, as in the paper."""

    channels: int = 32                  # width of the first layer (the paper: 64)
    num_layers: int = 2                 # stride-2 layers (the paper's 70x70 PatchGAN: 3)

    @nn.compact
    def __call__(self, x):
        h = nn.leaky_relu(nn.Conv(self.channels, (4, 4), strides=(2, 2))(x), 0.2)
        for i in range(1, self.num_layers):
            h = nn.Conv(self.channels * 2 ** i, (4, 4), strides=(2, 2))(h)
            h = nn.leaky_relu(instance_norm()(h), 0.2)
        h = nn.leaky_relu(instance_norm()(nn.Conv(self.channels * 2 ** self.num_layers, (4, 4))(h)), 0.2)
        return nn.Conv(1, (4, 4))(h)


def count_params(params) -> int:
    return sum(int(x.size) for x in jax.tree.leaves(params))
