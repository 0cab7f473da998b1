"""Moving MNIST (Srivastava et al. 2015), generated deterministically from MNIST digits.

Each clip pastes `num_digits` 28×28 digits on a black canvas; every digit starts at a random
position with a random velocity and bounces off the canvas edges (the velocity component flips
when the digit would leave the canvas). Overlapping digits combine by maximum, as in the original
generator. Clip i depends only on (seed, i) and the source digits, so a split is the same on
every machine and for every number of clips asked for.

Two presets (MOVING_MNIST_PRESETS): the standard one (two digits, 16 frames at 64×64) and a
CPU-sized one (one digit, 8 frames at 32×32, digits shrunk to 14×14 by 2×2 averaging).
Labels are the digit classes: one digit -> its class (10 classes); two digits -> 10·a + b
(100 classes, "ab").
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class MovingMNISTSpec:
    num_digits: int = 2        # digits per clip
    num_frames: int = 16       # T
    size: int = 64             # canvas H = W
    digit_size: int = 28       # digits are resized to this (28: as stored; 14: 2×2 averaged)
    max_speed: float = 3.0     # |velocity| per axis, pixels per frame, drawn from [1, max_speed]


MOVING_MNIST_PRESETS = {
    "standard": MovingMNISTSpec(num_digits=2, num_frames=16, size=64, digit_size=28, max_speed=3.0),
    "small": MovingMNISTSpec(num_digits=1, num_frames=8, size=32, digit_size=14, max_speed=2.0),
    # scikit-learn's 8×8 digits on a 16×16 canvas: embedded (no data files), for smoke runs
    "digits": MovingMNISTSpec(num_digits=1, num_frames=4, size=16, digit_size=8, max_speed=2.0),
}


def _shrink(digits_u8: np.ndarray, digit_size: int) -> np.ndarray:
    """uint8 [N, D, D] -> float32 [N, s, s] in [0, 1], s = D / k by k×k block averaging."""
    n, h, w = digits_u8.shape
    if h % digit_size or w % digit_size:
        raise ValueError(f"digit_size {digit_size} must divide the digits' size {h}x{w}")
    k = h // digit_size
    x = digits_u8.astype(np.float32) / 255.0
    return x.reshape(n, digit_size, k, digit_size, k).mean((2, 4))


def trajectories(rng: np.random.Generator, spec: MovingMNISTSpec) -> np.ndarray:
    """Top-left corners int [num_digits, T, 2] (row, col) of digits bouncing in the canvas."""
    room = spec.size - spec.digit_size
    pos = rng.uniform(0, room, size=(spec.num_digits, 2))
    speed = rng.uniform(1.0, spec.max_speed, size=(spec.num_digits, 2))
    vel = speed * rng.choice([-1.0, 1.0], size=(spec.num_digits, 2))
    out = np.empty((spec.num_digits, spec.num_frames, 2), np.int64)
    for t in range(spec.num_frames):
        out[:, t] = np.round(pos).astype(np.int64)
        nxt = pos + vel
        bounce = (nxt < 0) | (nxt > room)
        vel = np.where(bounce, -vel, vel)
        pos = np.clip(np.where(bounce, pos + vel, nxt), 0, room)
    return out


def generate(digits_u8: np.ndarray, digit_labels: np.ndarray, num_clips: int, seed: int,
             spec: MovingMNISTSpec = MOVING_MNIST_PRESETS["standard"]):
    """Clips float32 [num_clips, T, size, size, 1] in [-1, 1], labels int32 [num_clips] and the
    digit classes int32 [num_clips, num_digits], and the corners [num_clips, num_digits, T, 2].

    digits_u8: uint8 [N, D, D] digit images (MNIST: D = 28), digit_labels [N]. Clip i draws its digits and
    motion from np.random.default_rng([seed, i])."""
    if digits_u8.ndim != 3 or len(digits_u8) != len(digit_labels) or len(digits_u8) == 0:
        raise ValueError(f"digits: expected uint8 [N, D, D] with N labels, got {digits_u8.shape} "
                         f"and {np.shape(digit_labels)} labels")
    if spec.digit_size > spec.size:
        raise ValueError(f"digit_size {spec.digit_size} exceeds the canvas size {spec.size}")
    T, S, d = spec.num_frames, spec.size, spec.digit_size
    clips = np.zeros((num_clips, T, S, S), np.float32)
    classes = np.zeros((num_clips, spec.num_digits), np.int32)
    corners = np.zeros((num_clips, spec.num_digits, T, 2), np.int64)
    for i in range(num_clips):
        rng = np.random.default_rng([seed, i])
        idx = rng.integers(0, len(digits_u8), spec.num_digits)
        glyphs = _shrink(digits_u8[idx], d)
        classes[i] = digit_labels[idx]
        corners[i] = trajectories(rng, spec)
        for j in range(spec.num_digits):
            for t in range(T):
                r, c = corners[i, j, t]
                np.maximum(clips[i, t, r:r + d, c:c + d], glyphs[j], out=clips[i, t, r:r + d, c:c + d])
    # two digits: the pair as one class 10·a + b; otherwise the first digit's class
    labels = classes[:, 0] * 10 + classes[:, 1] if spec.num_digits == 2 else classes[:, 0]
    return clips[..., None] * 2.0 - 1.0, labels.astype(np.int32), classes, corners


def class_names(spec: MovingMNISTSpec) -> tuple[str, ...]:
    if spec.num_digits == 2:
        return tuple(f"{a}{b}" for a in range(10) for b in range(10))
    return tuple(str(i) for i in range(10))


# clips per split of the registry's datasets (train clips use MNIST's training digits and seed 0,
# test clips its test digits and seed 1); generate() makes any number
SPLIT_CLIPS = {"standard": {"train": 1000, "test": 200}, "small": {"train": 6000, "test": 1000},
               "digits": {"train": 1000, "test": 200}}


def loader(preset: str):
    """registry loader(data_dir, split) -> ImageDataset of clips [N, T, H, W, 1] for a preset."""

    def load(data_dir=None, split: str = "train"):
        from gen_jax.data.registry import DATASETS, ImageDataset, _check_split

        name = {"standard": "moving_mnist", "small": "moving_mnist_small", "digits": "moving_digits"}[preset]
        _check_split(name, split)
        mnist = DATASETS["digits" if preset == "digits" else "mnist"](data_dir, split)
        digits = np.round((mnist.images[..., 0] + 1.0) * 127.5).astype(np.uint8)
        spec = MOVING_MNIST_PRESETS[preset]
        clips, labels, _, _ = generate(digits, mnist.labels, SPLIT_CLIPS[preset][split],
                                       0 if split == "train" else 1, spec)
        names = class_names(spec)
        return ImageDataset(clips, labels, len(names), name, names)

    load.__doc__ = f"Moving MNIST, preset {preset!r} ({MOVING_MNIST_PRESETS[preset]})."
    return load
