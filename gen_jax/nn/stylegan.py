"""A StyleGAN2-style generator (Karras et al. 2020, "Analyzing and Improving the Image Quality
of StyleGAN"), small enough for 8..32 px.

- Mapping network z -> w: normalised z (and a normalised class embedding when num_classes, as in
  StyleGAN2-ADA), then fully connected layers at a 0.01 learning-rate multiplier.
- Synthesis from a learned constant 4×4 input; per layer a modulated/demodulated 3×3 convolution
  (sec. 2.2, eqs. 1-3), a noise input scaled by a learned per-layer strength, bias and leaky ReLU;
  "skip" outputs: each resolution adds a modulated 1×1 toRGB to the up-sampled image so far.
- Style mixing (sec. 3.3 of StyleGAN): while training, with probability p a sample's layers from
  a random crossover index on take w of a second latent.
- Truncation: w_avg, the EMA (β = 0.995) of the mapping outputs seen in training, is kept in the
  "stats" collection; sampling with ψ uses w_avg + ψ·(w - w_avg) (ψ = 0: the same image for any z).
- Equalised learning rate everywhere: weights ~ N(0, 1/lr_mul²), scaled at run time.

Simplifications: up-sampling is bilinear (not the FIR-filtered transposed convolution), the
noise at evaluation is a fixed map per layer (the official noise_mode="const", so sample i
depends only on its z), there is no path-length regulariser, and one width `channels` serves
every resolution. Images are synthesised at 4·2^n ≥ H and centre-cropped to H (28 px MNIST: 32
cropped by 2 px per side, the border that MNIST leaves empty); the output is linear, not tanh.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

SQRT2 = math.sqrt(2.0)


def normalize_2nd_moment(x, eps: float = 1e-8):
    """x / sqrt(mean(x², axis=-1)) (StyleGAN's pixel norm of the latent)."""
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps)


def synthesis_size(size: int) -> tuple[int, int]:
    """(S, n): the synthesised size S = 4·2^n ≥ size (n ≥ 1) that is cropped to `size`."""
    if size < 5:
        raise ValueError(f"StyleGAN image size must be >= 5 (a 4x4 constant doubled at least once), got {size}")
    n = max(1, math.ceil(math.log2(size / 4)))
    return 4 * 2 ** n, n


def _lrelu(x):
    return nn.leaky_relu(x, 0.2) * SQRT2  # gain √2 keeps the activations' scale (StyleGAN's bias_act)


class EqualDense(nn.Module):
    """Fully connected layer with equalised learning rate: y = x·(W·lr_mul/√fan_in) + b·lr_mul,
    W ~ N(0, 1/lr_mul²) (Karras et al. 2018, sec. 4.1)."""

    features: int
    lr_mul: float = 1.0
    bias_init: float = 0.0

    @nn.compact
    def __call__(self, x):
        w = self.param("kernel", nn.initializers.normal(1.0 / self.lr_mul), (x.shape[-1], self.features))
        b = self.param("bias", nn.initializers.constant(self.bias_init), (self.features,))
        return x @ (w * (self.lr_mul / math.sqrt(x.shape[-1]))) + b * self.lr_mul


class MappingNetwork(nn.Module):
    """z [B, z_dim] (and labels [B]) -> w [B, w_dim]."""

    w_dim: int = 128
    num_layers: int = 4
    num_classes: int | None = None
    lr_mul: float = 0.01

    @nn.compact
    def __call__(self, z, labels=None):
        x = normalize_2nd_moment(z)
        if self.num_classes:
            y = nn.Embed(self.num_classes, self.w_dim, embedding_init=nn.initializers.normal(1.0))(labels)
            x = jnp.concatenate([x, normalize_2nd_moment(y)], axis=-1)
        for _ in range(self.num_layers):
            x = _lrelu(EqualDense(self.w_dim, self.lr_mul)(x))
        return x


class ModulatedConv(nn.Module):
    """Modulated (and demodulated) k×k convolution (Karras et al. 2020, eqs. 1-3) of x [B, H, W, C]
    with the style s = affine(w) [B, C] (bias 1): w'_ijk = s_i·w_ijk, then w''_ijk =
    w'_ijk / sqrt(Σ_ik w'_ijk² + ε) when demodulate. Computed as conv(x·s, w)·d (the paper's
    fused form gives the same numbers). Returns [B, H, W, features]."""

    features: int
    kernel_size: int = 3
    demodulate: bool = True

    @nn.compact
    def __call__(self, x, w):
        cin, k = x.shape[-1], self.kernel_size
        s = EqualDense(cin, bias_init=1.0, name="affine")(w)                      # [B, C_in]
        weight = self.param("kernel", nn.initializers.normal(1.0), (k, k, cin, self.features))
        weight = weight / math.sqrt(k * k * cin)                                  # equalised lr
        y = jax.lax.conv_general_dilated(x * s[:, None, None, :], weight, (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        if self.demodulate:  # eq. 3: σ_j = sqrt(Σ_{i,k} (s_i·w_ijk)²)
            sq = jnp.einsum("bi,io->bo", jnp.square(s), jnp.sum(jnp.square(weight), axis=(0, 1)))
            y = y * jax.lax.rsqrt(sq + 1e-8)[:, None, None, :]
        return y


class SynthesisLayer(nn.Module):
    """Modulated 3×3 conv, + noise·strength, + bias, leaky ReLU. Noise: N(0, 1) per pixel from
    the "noise" rng when training, else a fixed map drawn from PRNGKey(layer_index)."""

    features: int
    layer_index: int

    @nn.compact
    def __call__(self, x, w, train: bool = False):
        x = ModulatedConv(self.features)(x, w)
        b, h, wd, _ = x.shape
        if train:
            noise = jax.random.normal(self.make_rng("noise"), (b, h, wd, 1), x.dtype)
        else:
            noise = jax.random.normal(jax.random.PRNGKey(self.layer_index), (1, h, wd, 1), x.dtype)
        x = x + noise * self.param("noise_strength", nn.initializers.zeros, ())
        return _lrelu(x + self.param("bias", nn.initializers.zeros, (self.features,)))


class ToRGB(nn.Module):
    """Modulated 1×1 conv to image channels, not demodulated, + bias."""

    channels: int

    @nn.compact
    def __call__(self, x, w):
        y = ModulatedConv(self.channels, kernel_size=1, demodulate=False)(x, w)
        return y + self.param("bias", nn.initializers.zeros, (self.channels,))


def _upsample(x):
    b, h, w, c = x.shape
    return jax.image.resize(x, (b, 2 * h, 2 * w, c), "bilinear")


class SynthesisNetwork(nn.Module):
    """ws [B, num_ws, w_dim] -> images [B, S, S, C] for S = 4·2^num_levels; num_ws = 2·levels + 2
    (w index of each layer as in the official code: toRGB shares its w with the next conv)."""

    num_levels: int
    out_channels: int
    channels: int = 64

    @staticmethod
    def num_ws(num_levels: int) -> int:
        return 2 * num_levels + 2

    @nn.compact
    def __call__(self, ws, train: bool = False):
        const = self.param("const", nn.initializers.normal(1.0), (4, 4, self.channels))
        x = jnp.broadcast_to(const, (ws.shape[0], *const.shape))
        x = SynthesisLayer(self.channels, 0)(x, ws[:, 0], train)
        img = ToRGB(self.out_channels)(x, ws[:, 1])
        for k in range(1, self.num_levels + 1):
            x = SynthesisLayer(self.channels, 2 * k - 1)(_upsample(x), ws[:, 2 * k - 1], train)
            x = SynthesisLayer(self.channels, 2 * k)(x, ws[:, 2 * k], train)
            img = _upsample(img) + ToRGB(self.out_channels)(x, ws[:, 2 * k + 1])
        return img


class Generator(nn.Module):
    """z [B, z_dim] (and labels [B] when num_classes) -> images [B, H, W, C] (about [-1, 1]).

    train: draw noise inputs and mix styles (rng "noise") and update w_avg ("stats" collection).
    truncation_psi: ψ of the truncation trick (1: off), a Python float or a traced scalar.
    """

    image_shape: tuple                # (H, W, C), H == W >= 5
    channels: int = 64                # synthesis width at every resolution
    w_dim: int = 128                  # style (w) size
    mapping_layers: int = 4           # fully connected layers of the mapping network (paper: 8)
    num_classes: int | None = None    # class embedding fed to the mapping network when set
    style_mixing_prob: float = 0.9    # P(a training sample mixes two w's) (paper: 0.9)
    w_avg_beta: float = 0.995         # EMA decay of w_avg (official: 0.995)

    @nn.compact
    def __call__(self, z, labels=None, train: bool = False, truncation_psi=1.0):
        h_img, w_img, c_img = self.image_shape
        size, levels = synthesis_size(h_img)
        num_ws = SynthesisNetwork.num_ws(levels)
        labels = labels if self.num_classes else None
        mapping = MappingNetwork(self.w_dim, self.mapping_layers, self.num_classes)
        w = mapping(z, labels)
        w_avg = self.variable("stats", "w_avg", jnp.zeros, (self.w_dim,))
        if train and not self.is_initializing():
            mean = jnp.mean(w, axis=0)
            w_avg.value = mean + self.w_avg_beta * (w_avg.value - mean)
        ws = jnp.broadcast_to(w[:, None], (w.shape[0], num_ws, self.w_dim))
        if train and self.style_mixing_prob > 0:
            k_z, k_cut, k_mix = jax.random.split(self.make_rng("noise"), 3)
            w2 = mapping(jax.random.normal(k_z, z.shape, z.dtype), labels)
            b = z.shape[0]
            cutoff = jax.random.randint(k_cut, (b,), 1, num_ws)
            cutoff = jnp.where(jax.random.uniform(k_mix, (b,)) < self.style_mixing_prob, cutoff, num_ws)
            ws = jnp.where(jnp.arange(num_ws)[None, :, None] < cutoff[:, None, None], ws, w2[:, None])
        if not (isinstance(truncation_psi, (int, float)) and truncation_psi == 1):
            ws = w_avg.value + truncation_psi * (ws - w_avg.value)
        img = SynthesisNetwork(levels, c_img, self.channels)(ws, train)
        top, left = (size - h_img) // 2, (size - w_img) // 2
        return img[:, top:top + h_img, left:left + w_img]
