"""Video diffusion with masked frame conditioning (Ho et al. 2022, "Video Diffusion Models";
the masking as in MCVD, Voleti et al. 2022): one VideoUNet generates clips, predicts the next
frames from the first k, and interpolates between given frames.

Training draws a task per clip (generate: no frame known; predict: the first k ∈ [1, T−1] frames
known; interpolate: the first and last known); the network sees the known frames and their mask
as extra channels, and the loss covers the unknown frames only. Sampling keeps the known frames
exactly, like inpainting: the denoiser's x0 estimate of a known frame is that frame (with the ε
that goes with it at the current x_t), and the output's known frames are replaced by the given
ones. Process, targets and samplers are those of the generalized-diffusion objective.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.conditioning import class_labels
from gen_jax.diffusion.process import (DiscreteVP, PREDICTIONS, Process, broadcast_coefficients,
                                       from_x0_eps)
from gen_jax.flow.rectified_flow import TIME_SAMPLINGS, sample_time
from gen_jax.nn.video import image_params_to_video
from gen_jax.samplers.common import per_sample_keys
from gen_jax.objective import given
from gen_jax.samplers.views import Views, draw, vp_table
from gen_jax.sr.sampling import build_views, tile_to
from gen_jax.train.state import TrainState, create_state, gradient_step

TASKS = ("generate", "predict", "interpolate")
SAMPLE_OPTIONS = ("sampler", "num_steps", "labels", "guidance", "known", "frame_mask")


def task_mask(task: str, num_frames: int, context: int = 1):
    """The known-frame mask [T] (1 = given) of a task: generate (none), predict (the first
    `context` frames), interpolate (the first and the last)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    f = jnp.arange(num_frames)
    if task == "generate":
        return jnp.zeros((num_frames,), jnp.float32)
    if task == "predict":
        if not 1 <= context < num_frames:
            raise ValueError(f"predict: context must be in [1, {num_frames - 1}], got {context}")
        return (f < context).astype(jnp.float32)
    return ((f == 0) | (f == num_frames - 1)).astype(jnp.float32)


def random_masks(key, batch: int, num_frames: int, task_probs):
    """Training masks [B, T]: per clip a task drawn with task_probs (generate, predict,
    interpolate), predict's context k uniform in [1, T − 1]."""
    k_task, k_ctx = jax.random.split(key)
    task = jax.random.choice(k_task, 3, (batch,), p=jnp.asarray(task_probs, jnp.float32))
    k = jax.random.randint(k_ctx, (batch, 1), 1, num_frames)
    f = jnp.arange(num_frames)[None]
    predict = f < k
    interp = (f == 0) | (f == num_frames - 1)
    mask = jnp.where(task[:, None] == 1, predict, jnp.where(task[:, None] == 2, interp, False))
    return mask.astype(jnp.float32)


def _expand(mask, x):
    """[B, T] -> [B, T, 1, 1, 1] against x [B, T, H, W, C]."""
    return mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))


def keep_known_denoiser(denoise, schedule, known, mask):
    """A VP-view denoiser whose x0 on the known frames is `known` and whose ε is the one x_vp then
    implies (x_vp = √ᾱ·x0 + √(1 − ᾱ)·ε), so every sampler moves the known frames along their own
    noising path."""

    def f(x_vp, t_idx):
        x0, eps = denoise(x_vp, t_idx)
        a = jnp.asarray(schedule.alpha_bar(t_idx), x_vp.dtype)
        a = a.reshape(a.shape + (1,) * (x_vp.ndim - a.ndim))
        m = _expand(mask, x_vp)
        eps_known = (x_vp - jnp.sqrt(a) * known) / jnp.sqrt(1.0 - a)
        return m * known + (1 - m) * x0, m * eps_known + (1 - m) * eps

    return f


def keep_known_velocity(velocity, known, mask):
    """The rectified-flow counterpart: on known frames v = ε − x0 = (x_rf − known)/t."""

    def f(x_rf, t_rf):
        v = velocity(x_rf, t_rf)
        t = jnp.reshape(t_rf, (-1,) + (1,) * (x_rf.ndim - 1))
        m = _expand(mask, x_rf)
        return m * (x_rf - known) / jnp.maximum(t, 1e-6) + (1 - m) * v

    return f


@dataclasses.dataclass(frozen=True)
class VideoDiffusionObjective:
    model: nn.Module                 # VideoUNet(cond_channels = C + 1): model(x_t, t·time_scale, labels, train, cond=)
    process: Process
    image_shape: tuple               # (T, H, W, C)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    prediction: str = "eps"
    task_probs: tuple = (0.5, 0.25, 0.25)  # training P(generate, predict, interpolate)
    time_sampling: str = "uniform"
    time_scale: float = 1000.0
    num_classes: int | None = None
    cond_drop_prob: float = 0.0
    ema_decay: float = 0.999
    vp_timesteps: int = 1000
    preview_sampler: str = "ddim"
    preview_steps: int = 20
    image_params: Any = None         # a trained image U-Net's params: init starts the spatial layers from them

    def __post_init__(self):
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"objective.prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.time_sampling not in TIME_SAMPLINGS:
            raise ValueError(f"objective.time_sampling must be one of {TIME_SAMPLINGS}, got {self.time_sampling!r}")
        p = tuple(self.task_probs)
        if len(p) != 3 or min(p) < 0 or abs(sum(p) - 1.0) > 1e-6:
            raise ValueError(f"objective.task_probs: expected 3 probabilities (generate, predict, "
                             f"interpolate) summing to 1, got {p}")
        if isinstance(self.process, DiscreteVP):
            # build the process's cached table eagerly: its first use may be inside a jit trace
            with jax.ensure_compile_time_eval():
                self.process.table  # noqa: B018
        if len(self.image_shape) != 4 or self.image_shape[0] < 2:
            raise ValueError(f"video objective: expected clips (T >= 2, H, W, C), got {self.image_shape}")

    @property
    def schedule(self):
        return vp_table(self.process, self.vp_timesteps)

    @property
    def num_frames(self) -> int:
        return self.image_shape[0]

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 1) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.float32)
        labels = jnp.zeros((batch_size,), jnp.int32) if self.num_classes else None
        params = self.model.init({"params": k_params}, x, t, labels, train=False,
                                 cond=self.condition(x, jnp.zeros(x.shape[:2])))["params"]
        if self.image_params is not None:
            params = image_params_to_video(self.image_params, params)
        return create_state(params, self.tx, k_state)

    @staticmethod
    def condition(known, mask):
        """The network's conditioning channels [B, T, H, W, C + 1]: known·mask and the mask."""
        m = jnp.broadcast_to(_expand(mask, known), known.shape[:-1] + (1,))
        return jnp.concatenate([known * m, m], axis=-1)

    def _apply(self, params, x_t, t, labels, cond, rngs=None):
        return self.model.apply({"params": params}, x_t, t * self.time_scale, labels,
                                train=rngs is not None, rngs=rngs, cond=cond)

    def loss(self, params, batch, key):
        """MSE in the prediction's space over the unknown frames of x_t = α·x0 + σ·ε (all frames
        noised; the known ones are also given clean through the conditioning)."""
        k_t, k_z, k_mask, k_drop, k_cfg = jax.random.split(key, 5)
        x0 = batch["image"]
        c = class_labels(self.num_classes)
        labels = c.drop(k_cfg, c.of_batch(batch), self.cond_drop_prob)
        mask = random_masks(k_mask, x0.shape[0], self.num_frames, self.task_probs)
        t = self.process.train_time(sample_time(k_t, x0.shape[0], self.time_sampling))
        eps = jax.random.normal(k_z, x0.shape, x0.dtype)
        coef = broadcast_coefficients(self.process, t, x0)
        x_t = coef[0] * x0 + coef[1] * eps
        out = self._apply(params, x_t, t, labels, self.condition(x0, mask), {"dropout": k_drop})
        err = (out - from_x0_eps(self.prediction, x0, eps, *coef)) ** 2
        w = 1.0 - _expand(mask, x0)
        return jnp.sum(err * w) / jnp.maximum(jnp.sum(w) * x0[0, 0].size, 1.0)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on {"image": clips [B, T, H, W, C], "label": [B] (optional)}."""
        return gradient_step(state, lambda p, k: self.loss(p, batch, k), self.tx, self.lr_schedule,
                             self.ema_decay)

    # --- sampling -------------------------------------------------------------------------
    def model_fn(self, params, known, mask, labels=None, guidance=1.0):
        cond = self.condition(known, mask)

        def apply(x, t, y):
            return self._apply(params, x, t, y, tile_to(cond, x.shape[0]))

        return class_labels(self.num_classes).guided(apply, labels, guidance)

    def sample(self, params, key, num: int | None = None, *, sampler: str = "ddim", num_steps=50,
               labels=None, guidance=1.0, known=None, frame_mask=None, **options):
        """Clips [N, T, H, W, C] in [-1, 1]. known [N, T, H, W, C] with frame_mask [T] or [N, T]
        (1 = given; e.g. task_mask("predict", T, k)): those frames are returned exactly and the
        others generated to match; neither: unconditional / class-conditional clips. **options:
        the sampler's own (the registry rejects others with ValueError)."""
        keys = per_sample_keys(key, num) if jnp.ndim(key) == 1 else key
        n = keys.shape[0]
        if (known is None) != (frame_mask is None):
            raise ValueError("sample: pass both known [N, T, H, W, C] and frame_mask [T] or [N, T], or neither")
        if known is None:
            known = jnp.zeros((n, *self.image_shape), jnp.float32)
            mask = jnp.zeros((n, self.num_frames), jnp.float32)
        else:
            known = jnp.asarray(known, jnp.float32)
            if known.shape != (n, *self.image_shape):
                raise ValueError(f"known: expected {(n, *self.image_shape)}, got {known.shape}")
            mask = jnp.broadcast_to(jnp.asarray(frame_mask, jnp.float32), (n, self.num_frames))
        v = build_views(self.model_fn(params, known, mask, labels, guidance), self.process,
                        self.prediction, self.vp_timesteps)
        views = Views(denoise=keep_known_denoiser(v.denoise, v.schedule, known, mask),
                      schedule=v.schedule, velocity=keep_known_velocity(v.velocity, known, mask))
        out = draw(sampler, views, keys, self.image_shape, None, num_steps, **given(**options))
        m = _expand(mask, out)
        return m * known + (1 - m) * out

    def preview(self, params, key, num: int):
        """Frames [max(1, num // T)·T, H, W, C] of generated clips, one clip after another."""
        n = max(1, num // self.num_frames)
        labels = jnp.arange(n) % self.num_classes if self.num_classes else None
        clips = self.sample(params, key, n, sampler=self.preview_sampler,
                            num_steps=self.preview_steps, labels=labels)
        return clips.reshape(-1, *self.image_shape[1:])
