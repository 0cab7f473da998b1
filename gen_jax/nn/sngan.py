"""ResNet generator and discriminator of SNGAN (Miyato et al. 2018, appendix B, the 32×32
CIFAR-10 ResNets; Gulrajani et al. 2017's blocks), also at 8/16/28 px.

G: z -> dense -> s×s×C (s = 4, or 7 for 28 px) -> n up-sampling residual blocks (BN, ReLU,
nearest 2× up, 3×3 conv, BN, ReLU, 3×3 conv; 1×1-conv shortcut) -> BN, ReLU, 3×3 conv, tanh.
D: an "optimised" first down-block (conv, ReLU, conv, 2×2 average pool), a second down-block,
two blocks at that size, ReLU, global sum pooling, dense -> f(x); every layer spectrally
normalised (optional: StyleGAN2's pairing uses R1 instead). Class conditioning: conditional BN in
G (dcgan.GNorm) and a projection discriminator (Miyato & Koyama 2018).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from gen_jax.nn.dcgan import GNorm, base_size
from gen_jax.nn.spectral_norm import sn


def upsample2x(x):
    """Nearest-neighbour 2× up-sampling of x [B, H, W, C] -> [B, 2H, 2W, C]."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def downsample2x(x):
    """2×2 average pooling of x [B, H, W, C] -> [B, H/2, W/2, C]."""
    return nn.avg_pool(x, (2, 2), (2, 2))


class GBlock(nn.Module):
    """Up-sampling residual block of G: [B, H, W, C] -> [B, 2H, 2W, features]."""

    features: int
    num_classes: int | None = None
    norm: str = "batch"

    @nn.compact
    def __call__(self, x, labels=None, train: bool = False):
        norm = lambda h: GNorm(self.norm, self.num_classes)(h, labels, train)  # noqa: E731
        h = upsample2x(nn.relu(norm(x)))
        h = nn.Conv(self.features, (3, 3), padding="SAME")(h)
        h = nn.Conv(self.features, (3, 3), padding="SAME")(nn.relu(norm(h)))
        return h + nn.Conv(self.features, (1, 1), name="shortcut")(upsample2x(x))


class Generator(nn.Module):
    """z [B, z_dim] (and labels [B] when num_classes) -> images [B, H, W, C] in [-1, 1]."""

    image_shape: tuple              # (H, W, C), H == W in 8, 16, 28, 32, ...
    channels: int = 256             # width of every block (SNGAN CIFAR: 256)
    num_classes: int | None = None  # conditional BN in every block when set
    norm: str = "batch"             # batch | group | none (dcgan.NORMS)

    @nn.compact
    def __call__(self, z, labels=None, train: bool = False):
        h_img, _, c_img = self.image_shape
        s, n = base_size(h_img)
        labels = labels if self.num_classes else None
        x = nn.Dense(s * s * self.channels)(z).reshape(z.shape[0], s, s, self.channels)
        for _ in range(n):
            x = GBlock(self.channels, self.num_classes, self.norm)(x, labels, train)
        x = nn.relu(GNorm(self.norm, self.num_classes)(x, labels, train))
        return jnp.tanh(nn.Conv(c_img, (3, 3), padding="SAME")(x))


class DBlock(nn.Module):
    """Residual block of D: [B, H, W, C] -> [B, H', W', features], H' = H/2 when down.
    first: the optimised block (no ReLU before the first conv; pool before the shortcut conv)."""

    features: int
    down: bool = True
    first: bool = False
    spectral_norm: bool = True

    @nn.compact
    def __call__(self, x, train: bool = False):
        wrap = (lambda layer: sn(layer, train)) if self.spectral_norm else (lambda layer: layer)
        conv = lambda k, name=None: wrap(nn.Conv(self.features, (k, k), padding="SAME", name=name))  # noqa: E731
        h = x if self.first else nn.relu(x)
        h = conv(3)(nn.relu(conv(3)(h)))
        if self.down:
            h = downsample2x(h)
        skip = x
        if self.first:
            skip = conv(1, "shortcut")(downsample2x(x))
        elif self.down or x.shape[-1] != self.features:
            skip = conv(1, "shortcut")(x)
            skip = downsample2x(skip) if self.down else skip
        return h + skip


class Discriminator(nn.Module):
    """x [B, H, W, C] (and labels [B] when num_classes) -> critic values f(x) [B]."""

    channels: int = 128             # width of every block (SNGAN CIFAR: 128)
    num_classes: int | None = None  # projection discriminator when set
    spectral_norm: bool = True      # SN on every layer (its u vectors live in "spectral")

    @nn.compact
    def __call__(self, x, labels=None, train: bool = False):
        ch, use_sn = self.channels, self.spectral_norm
        x = DBlock(ch, down=True, first=True, spectral_norm=use_sn)(x, train)
        x = DBlock(ch, down=True, spectral_norm=use_sn)(x, train)
        x = DBlock(ch, down=False, spectral_norm=use_sn)(x, train)
        x = DBlock(ch, down=False, spectral_norm=use_sn)(x, train)
        phi = jnp.sum(nn.relu(x), axis=(1, 2))  # global sum pooling
        wrap = (lambda layer: sn(layer, train)) if use_sn else (lambda layer: layer)
        out = wrap(nn.Dense(1))(phi)[:, 0]
        if self.num_classes:
            out = out + jnp.sum(wrap(nn.Embed(self.num_classes, ch))(labels) * phi, axis=-1)
        return out
