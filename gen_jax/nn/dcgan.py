"""DCGAN generator and discriminator (Radford et al. 2016) for square images of 8..32 pixels.

The generator maps z [B, z_dim] through a dense layer to a s×s map (s = 4, or 7 for 28×28) and
doubles it with 4×4 stride-2 transposed convolutions; the discriminator mirrors it with stride-2
convolutions and leaky ReLU. G normalises with batch norm (norm="batch", as in the paper: its
running statistics live in the "batch_stats" collection), GroupNorm ("group") or nothing ("none").
D has no normalisation layer (WGAN-GP's critic must not use batch norm: Gulrajani et al. 2017,
sec. 4), optionally spectral normalisation (its power-iteration vectors live in "spectral").
Class conditioning: G concatenates a class embedding to z; D is a projection discriminator
(Miyato & Koyama 2018): f(x, y) = ψ(φ(x)) + <embed(y), φ(x)>.

Both networks take `train`: G uses batch statistics (and updates the running ones) when True,
the running ones when False; D updates its spectral-norm vectors when True.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from gen_jax.nn.layers import group_norm
from gen_jax.nn.spectral_norm import sn

NORMS = ("batch", "group", "none")


def base_size(size: int) -> tuple[int, int]:
    """(s, n): the starting map size s ≤ 7 and the number n of 2× up/down-samplings to `size`."""
    s, n = size, 0
    while s % 2 == 0 and s > 7:
        s, n = s // 2, n + 1
    if n == 0:
        raise ValueError(f"DCGAN image size must be s·2^n with s ≤ 7 and n ≥ 1 (8, 16, 28, 32, ...), got {size}")
    return s, n


class GNorm(nn.Module):
    """A generator's normalisation of x [B, H, W, C]: batch | group | none. With num_classes and
    labels [B], a class-conditional gain and bias follow it, x·(1 + γ_y) + β_y with γ, β embeddings
    initialised to 0 (conditional batch norm: de Vries et al. 2017; Miyato & Koyama 2018)."""

    kind: str = "batch"
    num_classes: int | None = None
    momentum: float = 0.9          # running-statistics momentum of batch norm

    @nn.compact
    def __call__(self, x, labels=None, train: bool = False):
        if self.kind == "batch":
            x = nn.BatchNorm(use_running_average=not train, momentum=self.momentum)(x)
        elif self.kind == "group":
            x = group_norm(x.shape[-1])(x)
        elif self.kind != "none":
            raise ValueError(f"generator norm must be one of {NORMS}, got {self.kind!r}")
        if self.num_classes and labels is not None:
            emb = lambda name: nn.Embed(self.num_classes, x.shape[-1], name=name,  # noqa: E731
                                        embedding_init=nn.initializers.zeros)(labels)[:, None, None, :]
            x = x * (1.0 + emb("cond_gain")) + emb("cond_bias")
        return x


class Generator(nn.Module):
    """z [B, z_dim] (and labels [B] when num_classes) -> images [B, H, W, C] in [-1, 1]."""

    image_shape: tuple            # (H, W, C), H == W
    channels: int = 64            # width of the last hidden layer; doubles per level toward z
    num_classes: int | None = None
    norm: str = "batch"           # batch | group | none

    @nn.compact
    def __call__(self, z, labels=None, train: bool = False):
        if self.norm not in NORMS:
            raise ValueError(f"Generator.norm must be one of {NORMS}, got {self.norm!r}")
        h_img, _, c_img = self.image_shape
        s, n = base_size(h_img)
        if self.num_classes:
            z = jnp.concatenate([z, nn.Embed(self.num_classes, z.shape[-1])(labels)], axis=-1)
        act = lambda x: nn.relu(GNorm(self.norm)(x, train=train))  # noqa: E731
        ch = self.channels * 2 ** (n - 1)
        bias = self.norm == "none"  # a bias before a normalisation is cancelled by it: leave it out
        x = nn.Dense(s * s * ch, use_bias=bias)(z).reshape(z.shape[0], s, s, ch)
        x = act(x)
        for i in range(n):
            ch = self.channels * 2 ** max(n - 2 - i, 0)
            x = act(nn.ConvTranspose(ch, (4, 4), strides=(2, 2), padding="SAME", use_bias=bias)(x))
        return jnp.tanh(nn.Conv(c_img, (3, 3), padding="SAME")(x))


class Discriminator(nn.Module):
    """x [B, H, W, C] (and labels [B] when num_classes) -> critic values f(x) [B] (logits)."""

    channels: int = 64
    num_classes: int | None = None
    spectral_norm: bool = False   # spectral normalisation of every layer (Miyato et al. 2018)

    @nn.compact
    def __call__(self, x, labels=None, train: bool = False):
        wrap = (lambda layer: sn(layer, train)) if self.spectral_norm else (lambda layer: layer)
        _, n = base_size(x.shape[1])
        for i in range(n):
            x = nn.leaky_relu(wrap(nn.Conv(self.channels * 2 ** i, (4, 4), strides=(2, 2),
                                           padding="SAME"))(x), 0.2)
        phi = x.reshape(x.shape[0], -1)
        out = wrap(nn.Dense(1))(phi)[:, 0]
        if self.num_classes:
            out = out + jnp.sum(wrap(nn.Embed(self.num_classes, phi.shape[-1]))(labels) * phi, axis=-1)
        return out
