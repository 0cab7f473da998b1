"""Known image corruptions, graded by strength, to validate a metric: a useful feature space moves
FID far more for blur and noise (the typical flaws of under-trained diffusion models, distilled
students and VAEs) than for a one-pixel shift, and moves it monotonically with the strength.

All functions map images [N, H, W, C] uint8 in [0, 255] to uint8 of the same shape (corrupted images
are quantised like any saved sample); the stochastic ones take a JAX key.
"""

from __future__ import annotations

import io

import jax
import numpy as np
import scipy.ndimage
from PIL import Image


def _check_uint8(images) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype != np.uint8 or x.ndim != 4:
        raise ValueError(f"expected images [N, H, W, C] uint8, found {x.dtype} with shape {x.shape}")
    return x


def _quantise(x) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def gaussian_blur(images, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation `sigma` pixels on H and W (edges reflected)."""
    x = _check_uint8(images).astype(np.float32)
    return _quantise(scipy.ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="reflect",
                                                   truncate=4.0))


def gaussian_noise(images, sigma: float, key) -> np.ndarray:
    """Additive i.i.d. Gaussian noise of standard deviation `sigma` in 0..255 units (σ = 16 is 16/255)."""
    x = _check_uint8(images)
    noise = np.asarray(jax.random.normal(key, x.shape), np.float32) * sigma
    return _quantise(x.astype(np.float32) + noise)


def salt_noise(images, fraction: float, key) -> np.ndarray:
    """A random `fraction` of the pixels (all channels of each) set to white."""
    x = _check_uint8(images).copy()
    hit = np.asarray(jax.random.bernoulli(key, fraction, x.shape[:3]))
    x[hit] = 255
    return x


def jpeg(images, quality: int) -> np.ndarray:
    """JPEG round trip through Pillow at `quality` (1..95), 4:2:0 chroma subsampling for RGB."""
    x = _check_uint8(images)
    out = np.empty_like(x)
    for i, im in enumerate(x):
        buf = io.BytesIO()
        Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im).save(buf, format="JPEG", quality=quality)
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
        out[i] = dec.reshape(im.shape)
    return out


def shift(images, dx: int = 1, dy: int = 0) -> np.ndarray:
    """Translate by (dx, dy) pixels (right, down), the uncovered border filled by edge replication."""
    x = _check_uint8(images)
    h, w = x.shape[1:3]
    py, px = abs(dy), abs(dx)
    xp = np.pad(x, ((0, 0), (py, py), (px, px), (0, 0)), mode="edge")
    return xp[:, py - dy:py - dy + h, px - dx:px - dx + w]


def contrast(images, factor: float) -> np.ndarray:
    """Contrast scaled by `factor` about each image's mean intensity (factor < 1 washes out)."""
    x = _check_uint8(images).astype(np.float32)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return _quantise(mean + factor * (x - mean))


def drop_classes(images, labels, classes, num: int, key) -> np.ndarray:
    """Mode dropping: `num` images drawn without replacement from those whose label is not in
    `classes` (the same count as the intact set, so only the class mix changes)."""
    x = _check_uint8(images)
    keep = np.flatnonzero(~np.isin(np.asarray(labels), list(classes)))
    if len(keep) < num:
        raise ValueError(f"drop_classes: {len(keep)} images left after removing classes {list(classes)}; "
                         f"asked for {num}")
    idx = np.sort(np.asarray(jax.random.choice(key, keep, (num,), replace=False)))
    return x[idx]


# The graded suite of experiments/bench_metrics.py: family -> (axis label, strengths from mild to
# strong). JPEG strength is falling quality; contrast strength is a falling factor.
SUITE = {
    "blur": ("Gaussian blur σ (pixels)", (0.5, 0.8, 1.2)),
    "noise": ("Gaussian noise σ (of 255)", (8, 16, 32)),
    "salt": ("salt noise (fraction of pixels)", (0.005, 0.01, 0.02)),
    "jpeg": ("JPEG quality", (70, 30, 10)),
    "contrast": ("contrast factor", (0.9, 0.7, 0.5)),
    "shift": ("shift (pixels)", (1, 2)),
    "drop": ("classes removed", (1, 5)),
}

# Sensitivity bars a feature network should pass (FID ratios to the real-vs-real value).
BARS = {"blur_0.8_min_ratio": 10.0, "noise_16_min_ratio": 1.5, "shift_1_max_ratio": 2.0}


def corrupt(family: str, strength, images, labels, key) -> np.ndarray:
    """images [N, H, W, C] uint8 (labels [N]) corrupted by SUITE's `family` at `strength`."""
    if family == "blur":
        return gaussian_blur(images, strength)
    if family == "noise":
        return gaussian_noise(images, strength, key)
    if family == "salt":
        return salt_noise(images, strength, key)
    if family == "jpeg":
        return jpeg(images, int(strength))
    if family == "contrast":
        return contrast(images, strength)
    if family == "shift":
        return shift(images, int(strength), 0)
    if family == "drop":
        # Classes 0..k-1 removed; the rest resampled to the same count.
        return drop_classes(images, labels, range(int(strength)), len(images), key)
    raise ValueError(f"unknown corruption family {family!r}; expected one of {sorted(SUITE)}")


def check_bars(fid_real: float, fid: dict) -> dict:
    """The sensitivity bars from FIDs: fid maps (family, strength) -> FID of the corrupted images,
    fid_real is the intact images' FID against the same reference. Returns the ratios, a pass flag
    per bar, and `monotone_{family}` (FID strictly rising from real through every strength given)
    for each family other than shift."""
    ratio = lambda f, s: fid[(f, s)] / fid_real  # noqa: E731
    out = {"blur_0.8_ratio": ratio("blur", 0.8), "noise_16_ratio": ratio("noise", 16),
           "shift_1_ratio": ratio("shift", 1)}
    out["blur_0.8_pass"] = out["blur_0.8_ratio"] >= BARS["blur_0.8_min_ratio"]
    out["noise_16_pass"] = out["noise_16_ratio"] >= BARS["noise_16_min_ratio"]
    out["shift_1_pass"] = out["shift_1_ratio"] < BARS["shift_1_max_ratio"]
    for family in sorted({f for f, _ in fid} - {"shift"}):
        curve = [fid_real] + [fid[(family, s)] for s in SUITE[family][1] if (family, s) in fid]
        out[f"monotone_{family}"] = bool(np.all(np.diff(curve) > 0))
    return out
