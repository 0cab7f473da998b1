"""VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning"): a convolutional
encoder to a grid of vectors z_e [B, h, w, D], nearest-neighbour quantisation against a codebook
e [K, D], and a decoder from the quantised grid back to images.

The codebook is not a gradient-trained parameter: it is the exponential moving average of the
encoder outputs assigned to each code (the paper's appendix A.1; Razavi et al. 2019, eq. 5-7),
kept in a plain pytree {"codebook", "cluster_size", "embed_sum"} beside the network's params.
Codes whose running usage falls below a threshold are restarted at random encoder outputs of the
current batch (as Jukebox, Dhariwal et al. 2020, sec. 3.1). The functions here are pure; the
objective in gen_jax/ar/tokenizer.py strings them together.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gen_jax.nn.layers import group_norm


# --- quantisation ---------------------------------------------------------------------------------
def nearest_code(z, codebook):
    """Index of the nearest code (squared Euclidean distance) for z [..., D], codebook [K, D] -> [...]."""
    d = (jnp.sum(z ** 2, -1, keepdims=True) - 2.0 * z @ codebook.T + jnp.sum(codebook ** 2, -1))
    return jnp.argmin(d, axis=-1)


def straight_through(z_e, z_q):
    """z_q in the forward pass, identity gradient to z_e in the backward pass (the paper's eq. 3:
    the decoder's gradient is copied to the encoder)."""
    return z_e + jax.lax.stop_gradient(z_q - z_e)


def quantize(z_e, codebook):
    """z_e [..., D] -> (z_q with straight-through gradient [..., D], codes [...] int32)."""
    codes = nearest_code(z_e, codebook)
    return straight_through(z_e, codebook[codes]), codes.astype(jnp.int32)


def init_codebook_state(key, num_codes: int, dim: int, scale: float = 1.0) -> dict:
    """{"codebook": [K, D] ~ N(0, scale²), "cluster_size": [K] ones, "embed_sum": = codebook}.
    cluster_size starts at 1 so that the first EMA steps divide by a sane count."""
    codebook = scale * jax.random.normal(key, (num_codes, dim), jnp.float32)
    return {"codebook": codebook, "cluster_size": jnp.ones((num_codes,), jnp.float32),
            "embed_sum": codebook}


def ema_codebook_update(vq: dict, z_flat, codes, decay: float, eps: float = 1e-5) -> dict:
    """One EMA step of the codebook (van den Oord et al. 2017, appendix A.1):
    N_i <- γ N_i + (1-γ) n_i,  m_i <- γ m_i + (1-γ) Σ_{j: code j = i} z_j,  e_i = m_i / Ñ_i,
    with Laplace smoothing Ñ_i = (N_i + ε) / (Σ N + K ε) · Σ N so that an unused code does not
    divide by zero. z_flat [M, D], codes [M] -> the new {"codebook", "cluster_size", "embed_sum"}."""
    num_codes = vq["codebook"].shape[0]
    onehot = jax.nn.one_hot(codes, num_codes, dtype=z_flat.dtype)          # [M, K]
    counts = jnp.sum(onehot, axis=0)                                        # n_i
    sums = onehot.T @ z_flat                                                # Σ z_j per code
    cluster_size = decay * vq["cluster_size"] + (1.0 - decay) * counts
    embed_sum = decay * vq["embed_sum"] + (1.0 - decay) * sums
    n = jnp.sum(cluster_size)
    smoothed = (cluster_size + eps) / (n + num_codes * eps) * n
    return {"codebook": embed_sum / smoothed[:, None], "cluster_size": cluster_size,
            "embed_sum": embed_sum}


def restart_dead_codes(vq: dict, z_flat, key, threshold: float) -> tuple[dict, jnp.ndarray]:
    """Codes with EMA usage cluster_size < threshold (expected assignments per batch) move to
    random rows of z_flat [M, D] (their count reset to 1). Returns (new state, number restarted)."""
    dead = vq["cluster_size"] < threshold                                  # [K]
    pick = jax.random.randint(key, (dead.shape[0],), 0, z_flat.shape[0])
    fresh = z_flat[pick]                                                    # [K, D]
    return ({"codebook": jnp.where(dead[:, None], fresh, vq["codebook"]),
             "cluster_size": jnp.where(dead, 1.0, vq["cluster_size"]),
             "embed_sum": jnp.where(dead[:, None], fresh, vq["embed_sum"])},
            jnp.sum(dead))


def code_usage(codes, num_codes: int):
    """(fraction of the K codes used at least once, perplexity exp(H(p)) of the code histogram p)
    for codes [...]. Perplexity is K for uniform use and 1 for a single code."""
    p = jnp.bincount(codes.reshape(-1), length=num_codes) / codes.size
    entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))
    return jnp.mean(p > 0), jnp.exp(entropy)


# --- networks -------------------------------------------------------------------------------------
class ResBlock(nn.Module):
    @nn.compact
    def __call__(self, h):
        c = h.shape[-1]
        r = nn.Conv(c, (3, 3))(nn.swish(group_norm(c)(h)))
        r = nn.Conv(c, (1, 1))(nn.swish(group_norm(c)(r)))
        return h + r


class VQEncoder(nn.Module):
    """x [B, H, W, C] -> z_e [B, H/2^L, W/2^L, code_dim], L = len(channel_mult)."""

    channels: int = 32
    channel_mult: Sequence[int] = (1, 2)
    num_res_blocks: int = 1
    code_dim: int = 16

    @nn.compact
    def __call__(self, x):
        h = nn.Conv(self.channels, (3, 3))(x)
        for mult in self.channel_mult:  # each level halves H and W
            h = nn.Conv(self.channels * mult, (4, 4), strides=(2, 2))(nn.swish(h))
        for _ in range(self.num_res_blocks):
            h = ResBlock()(h)
        return nn.Conv(self.code_dim, (1, 1))(nn.swish(group_norm(h.shape[-1])(h)))


class VQDecoder(nn.Module):
    """z_q [B, h, w, code_dim] -> images [B, h·2^L, w·2^L, out_channels] (linear output)."""

    out_channels: int = 1
    channels: int = 32
    channel_mult: Sequence[int] = (1, 2)
    num_res_blocks: int = 1

    @nn.compact
    def __call__(self, z):
        h = nn.Conv(self.channels * self.channel_mult[-1], (3, 3))(z)
        for _ in range(self.num_res_blocks):
            h = ResBlock()(h)
        for mult in reversed(self.channel_mult):
            b, hh, ww, cc = h.shape
            h = jax.image.resize(nn.swish(group_norm(cc)(h)), (b, 2 * hh, 2 * ww, cc), "nearest")
            h = nn.Conv(self.channels * mult, (3, 3))(h)
        return nn.Conv(self.out_channels, (3, 3))(nn.swish(group_norm(h.shape[-1])(h)))


class VQVAE(nn.Module):
    """Encoder and decoder of a VQ-VAE; the codebook lives outside (see the module docstring).
    apply(params, x, method=VQVAE.encode) -> z_e; apply(params, z_q, method=VQVAE.decode) -> x."""

    image_shape: tuple                  # (H, W, C); H and W divisible by 2^len(channel_mult)
    channels: int = 32
    channel_mult: Sequence[int] = (1, 2)
    num_res_blocks: int = 1
    code_dim: int = 16

    def setup(self):
        self.encoder = VQEncoder(self.channels, tuple(self.channel_mult), self.num_res_blocks, self.code_dim)
        self.decoder = VQDecoder(self.image_shape[-1], self.channels, tuple(self.channel_mult),
                                 self.num_res_blocks)

    @property
    def token_shape(self) -> tuple:
        f = 2 ** len(self.channel_mult)
        return (self.image_shape[0] // f, self.image_shape[1] // f)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z_q):
        return self.decoder(z_q)

    def __call__(self, x):
        """Encoder then decoder without quantisation (used by init to create every parameter)."""
        return self.decoder(self.encoder(x))
