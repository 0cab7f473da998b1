"""Video metrics for moving digits: motion statistics against real clips, and identity over time.
Clips [N, T, H, W, C] in [-1, 1] with a dark background (-1). FVD needs an I3D network trained on
Kinetics, which is not available offline; these statistics and per-frame FID stand in for it."""

from __future__ import annotations

import numpy as np


def frame_difference(clips) -> np.ndarray:
    """Mean absolute frame-to-frame difference per clip [N] (in [-1, 1] units)."""
    clips = np.asarray(clips, np.float32)
    return np.abs(np.diff(clips, axis=1)).mean(axis=(1, 2, 3, 4))


def centre_of_mass(clips) -> np.ndarray:
    """Intensity-weighted centre (row, col) of every frame [N, T, 2], intensity = (x + 1)/2
    summed over channels; a blank frame gives the canvas centre."""
    clips = np.asarray(clips, np.float32)
    w = ((clips + 1.0) / 2.0).clip(0, None).sum(-1)  # [N, T, H, W]
    h, wd = w.shape[2:]
    total = w.sum((2, 3))
    safe = np.where(total > 0, total, 1.0)
    rows = (w * np.arange(h)[:, None]).sum((2, 3)) / safe
    cols = (w * np.arange(wd)[None, :]).sum((2, 3)) / safe
    rows = np.where(total > 0, rows, (h - 1) / 2)
    cols = np.where(total > 0, cols, (wd - 1) / 2)
    return np.stack([rows, cols], -1)


def com_speed(clips) -> np.ndarray:
    """Centre-of-mass speed, pixels per frame, for every step of every clip [N·(T−1)]."""
    com = centre_of_mass(clips)
    return np.linalg.norm(np.diff(com, axis=1), axis=-1).reshape(-1)


def wasserstein_1d(a, b) -> float:
    """W1 distance between two 1-D empirical distributions (the area between their quantile
    functions, on a common grid of 1000 quantiles)."""
    q = (np.arange(1000) + 0.5) / 1000
    return float(np.abs(np.quantile(np.asarray(a), q) - np.quantile(np.asarray(b), q)).mean())


def motion_statistics(fake, real) -> dict:
    """{frame_diff_fake, frame_diff_real, speed_mean_fake, speed_mean_real, speed_w1}: mean
    frame-to-frame difference and centre-of-mass speed of both sets, and the W1 distance of their
    speed distributions (0 for identical motion statistics)."""
    sf, sr = com_speed(fake), com_speed(real)
    return {"frame_diff_fake": float(frame_difference(fake).mean()),
            "frame_diff_real": float(frame_difference(real).mean()),
            "speed_mean_fake": float(sf.mean()), "speed_mean_real": float(sr.mean()),
            "speed_w1": wasserstein_1d(sf, sr)}


def identity_over_time(frame_labels) -> dict:
    """frame_labels int [N, T] (a classifier's label per frame) -> {consistent: fraction of clips
    whose frames all get one label, agreement: mean fraction of a clip's frames that agree with
    its most common label}."""
    lab = np.asarray(frame_labels)
    mode = np.array([np.bincount(r).argmax() for r in lab])
    agree = (lab == mode[:, None]).mean(1)
    return {"consistent": float((agree == 1).mean()), "agreement": float(agree.mean())}


def centre_crops(clips, size: int = 28, scale: int = 2) -> np.ndarray:
    """Every frame upscaled `scale`× (nearest) and cropped size×size around its centre of mass,
    [N·T, size, size, C]: the digit at the scale a 28×28 MNIST classifier expects (the small
    Moving MNIST draws 14×14 digits)."""
    clips = np.asarray(clips, np.float32)
    n, T, h, w, c = clips.shape
    frames = clips.reshape(n * T, h, w, c).repeat(scale, 1).repeat(scale, 2)
    com = (centre_of_mass(clips).reshape(n * T, 2) * scale + (scale - 1) / 2).round().astype(int)
    pad = size
    padded = np.pad(frames, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=-1.0)
    out = np.empty((n * T, size, size, c), np.float32)
    for i, (r, q) in enumerate(com):
        r0, c0 = r + pad - size // 2, q + pad - size // 2
        out[i] = padded[i, r0:r0 + size, c0:c0 + size]
    return out
