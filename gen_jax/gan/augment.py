"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
the same family of differentiable augmentations T applied to real and generated images before D,
so D sees T(x) and T(G(z)) and G's gradient flows back through T. Follows the authors' reference
code (DiffAugment_pytorch.py): color (brightness ±0.5, saturation ×[0, 2], contrast ×[0.5, 1.5]),
translation by up to 1/8 of the size with zero padding, cutout of a square of half the size.
Every draw is per sample; x: [B, H, W, C] in [-1, 1].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

AUGMENTATIONS = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """"color,translation,cutout" -> ("color", "translation", "cutout"); "" -> ()."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    bad = [n for n in names if n not in AUGMENTATIONS]
    if bad:
        raise ValueError(f"DiffAugment policy {policy!r}: unknown {bad}; expected a comma-separated "
                         f"subset of {AUGMENTATIONS} or '' (off)")
    return names


def color(x, key):
    """Brightness + U(-0.5, 0.5); saturation: channel deviations × U(0, 2); contrast: deviations
    from the image mean × U(0.5, 1.5)."""
    k_b, k_s, k_c = jax.random.split(key, 3)
    shape = (x.shape[0], 1, 1, 1)
    x = x + (jax.random.uniform(k_b, shape, x.dtype) - 0.5)
    mean = jnp.mean(x, axis=3, keepdims=True)
    x = (x - mean) * (jax.random.uniform(k_s, shape, x.dtype) * 2.0) + mean
    mean = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (jax.random.uniform(k_c, shape, x.dtype) + 0.5) + mean


def shift(x, dy, dx):
    """out[b, i, j] = x[b, i + dy[b], j + dx[b]], 0 outside the image. dy, dx: int [B]."""
    _, h, w, _ = x.shape
    i = jnp.arange(h)[None, :] + dy[:, None]                     # [B, H]
    j = jnp.arange(w)[None, :] + dx[:, None]                     # [B, W]
    rows = jnp.take_along_axis(x, jnp.clip(i, 0, h - 1)[:, :, None, None], axis=1)
    out = jnp.take_along_axis(rows, jnp.clip(j, 0, w - 1)[:, None, :, None], axis=2)
    inside = ((i >= 0) & (i < h))[:, :, None, None] & ((j >= 0) & (j < w))[:, None, :, None]
    return jnp.where(inside, out, 0.0)


def translation(x, key, ratio: float = 0.125):
    """Shift by integers in [-r, r] per axis, r = round(ratio·size), zero padding."""
    _, h, w, _ = x.shape
    ry, rx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    k_y, k_x = jax.random.split(key)
    dy = jax.random.randint(k_y, (x.shape[0],), -ry, ry + 1)
    dx = jax.random.randint(k_x, (x.shape[0],), -rx, rx + 1)
    return shift(x, dy, dx)


def cutout(x, key, ratio: float = 0.5):
    """Zero a square of side round(ratio·size) centred at a uniform position (clipped at the
    borders)."""
    b, h, w, _ = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    k_y, k_x = jax.random.split(key)
    cy = jax.random.randint(k_y, (b,), 0, h + (1 - sy % 2)) - sy // 2   # top-left, as the reference
    cx = jax.random.randint(k_x, (b,), 0, w + (1 - sx % 2)) - sx // 2
    i, j = jnp.arange(h)[None, :], jnp.arange(w)[None, :]
    in_y = (i >= cy[:, None]) & (i < cy[:, None] + sy)                 # [B, H]
    in_x = (j >= cx[:, None]) & (j < cx[:, None] + sx)                 # [B, W]
    keep = ~(in_y[:, :, None] & in_x[:, None, :])
    return x * keep[..., None].astype(x.dtype)


_FNS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x, key, policy: str | tuple = ""):
    """Apply the policy's augmentations in order, each with its own key fold_in(key, i).
    policy: "color,translation,cutout" (or the parsed tuple); "" returns x unchanged."""
    names = parse_policy(policy) if isinstance(policy, str) else policy
    for i, name in enumerate(names):
        x = _FNS[name](x, jax.random.fold_in(key, i))
    return x
