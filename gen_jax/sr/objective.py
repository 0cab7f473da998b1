"""Super-resolution diffusion (SR3, Saharia et al. 2021) with noise-conditioning augmentation
(Ho et al. 2021, "Cascaded Diffusion Models", sec. 4.2).

The network (nn.video.SRConditioned) sees x_t beside the low-resolution image upsampled to full
size. In training the low-resolution image is computed from the batch (data/lowres.py), upsampled,
and noised by the same process to a level s ~ U(0, aug_max) that the network is also told; at
sampling time s is a chosen `aug_level` (0: the clean input). The loss, the VP and rectified-flow
views, and so every sampler, are those of the generalized-diffusion objective.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gen_jax.data.lowres import UPSAMPLE_METHODS, downsample, upsample
from gen_jax.conditioning import class_labels
from gen_jax.diffusion.objective import process_loss
from gen_jax.diffusion.process import DiscreteVP, PREDICTIONS, Process
from gen_jax.flow.rectified_flow import TIME_SAMPLINGS
from gen_jax.samplers.common import per_sample_keys
from gen_jax.objective import given
from gen_jax.samplers.views import draw, vp_table
from gen_jax.sr.sampling import build_views, tile_to
from gen_jax.train.state import TrainState, create_state, gradient_step

SAMPLE_OPTIONS = ("sampler", "num_steps", "labels", "guidance", "lowres", "aug_level")


def augment(process: Process, z_up, s, noise):
    """Noise-conditioning augmentation: α_s·z_up + σ_s·noise at process time s [B] (s = 0: z_up)."""
    alpha, sigma = process.alpha_sigma(jnp.asarray(s, jnp.float32))
    shape = (-1,) + (1,) * (z_up.ndim - 1)
    noisy = alpha.reshape(shape) * z_up + sigma.reshape(shape) * noise
    return jnp.where(jnp.reshape(s, shape) > 0, noisy, z_up)


@dataclasses.dataclass(frozen=True)
class SRDiffusionObjective:
    model: nn.Module                 # SRConditioned: model(x_t, t·time_scale, labels, train, lowres_up=, aug_level=)
    process: Process
    image_shape: tuple               # high-resolution (H, W, C)
    lowres_size: int                 # h: the low-resolution input is h×h (h divides H)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    prediction: str = "eps"
    upsample_method: str = "bicubic"  # how the low-res input is brought to H×W: bicubic | nearest | bilinear
    aug_max: float = 0.5             # training augmentation level s ~ U(0, aug_max) (process time)
    time_sampling: str = "uniform"
    time_scale: float = 1000.0
    num_classes: int | None = None
    cond_drop_prob: float = 0.0
    ema_decay: float = 0.999
    vp_timesteps: int = 1000
    preview_sampler: str = "ddim"
    preview_steps: int = 20
    preview_lowres: np.ndarray | None = None  # [N, h, h, C] low-res inputs of preview grids

    def __post_init__(self):
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"objective.prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.time_sampling not in TIME_SAMPLINGS:
            raise ValueError(f"objective.time_sampling must be one of {TIME_SAMPLINGS}, got {self.time_sampling!r}")
        if self.upsample_method not in UPSAMPLE_METHODS:
            raise ValueError(f"objective.upsample must be one of {UPSAMPLE_METHODS}, got {self.upsample_method!r}")
        if not 0.0 <= self.aug_max <= 1.0:
            raise ValueError(f"objective.aug_max must be in [0, 1], got {self.aug_max}")
        if isinstance(self.process, DiscreteVP):
            # build the process's cached table eagerly: its first use may be inside a jit trace
            with jax.ensure_compile_time_eval():
                self.process.table  # noqa: B018
        h = self.image_shape[0]
        if self.lowres_size < 1 or h % self.lowres_size or self.image_shape[1] % self.lowres_size:
            raise ValueError(f"objective.lowres_size must divide the image size "
                             f"{self.image_shape[0]}x{self.image_shape[1]}, got {self.lowres_size}")

    @property
    def schedule(self):
        return vp_table(self.process, self.vp_timesteps)

    def lowres(self, x):
        """The model's low-resolution view of high-res images x [B, H, W, C]: [B, h, h, C]."""
        return downsample(x, self.lowres_size)

    def upsample(self, z):
        return upsample(z, self.image_shape[0], self.upsample_method)

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.float32)
        labels = jnp.zeros((batch_size,), jnp.int32) if self.num_classes else None
        params = self.model.init({"params": k_params}, x, t, labels, train=False, lowres_up=x,
                                 aug_level=t)["params"]
        return create_state(params, self.tx, k_state)

    def _apply(self, params, x_t, t, labels, z_up, s, rngs=None):
        return self.model.apply({"params": params}, x_t, t * self.time_scale, labels,
                                train=rngs is not None, rngs=rngs, lowres_up=z_up, aug_level=s)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on {"image": [B, H, W, C] high-res, "label": [B] (optional)}."""

        def loss_fn(params, key):
            k_loss, k_drop, k_cfg, k_s, k_aug = jax.random.split(key, 5)
            x0 = batch["image"]
            c = class_labels(self.num_classes)
            labels = c.drop(k_cfg, c.of_batch(batch), self.cond_drop_prob)
            s = self.aug_max * jax.random.uniform(k_s, (x0.shape[0],))
            z_up = augment(self.process, self.upsample(self.lowres(x0)), s,
                           jax.random.normal(k_aug, x0.shape, x0.dtype))
            model_fn = lambda x_t, t: self._apply(params, x_t, t, labels, z_up, s, {"dropout": k_drop})
            return process_loss(model_fn, self.process, self.prediction, x0, k_loss,
                                sampling=self.time_sampling)

        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)

    # --- sampling -------------------------------------------------------------------------
    def model_fn(self, params, z_up, aug_level, labels=None, guidance=1.0):
        """(x_t, t [B]) -> prediction given the (augmented) upsampled input z_up [B, H, W, C] at
        level aug_level [B], with classifier-free guidance on labels."""
        s = jnp.broadcast_to(jnp.asarray(aug_level, jnp.float32), (z_up.shape[0],))

        def apply(x, t, y):
            return self._apply(params, x, t, y, tile_to(z_up, x.shape[0]), tile_to(s, x.shape[0]))

        return class_labels(self.num_classes).guided(apply, labels, guidance)

    def sample(self, params, key, num: int | None = None, *, sampler: str = "ddim", num_steps=50,
               labels=None, guidance=1.0, lowres=None, aug_level=0.0, **options):
        """High-resolution images [N, H, W, C] in [-1, 1] given lowres [N, h, h, C] (default: the
        first N preview inputs). The input is upsampled and noised to aug_level (process time,
        fresh noise per sample; 0: clean), as in training. Every sampler of gen_jax.samplers.SAMPLERS
        runs; **options are that sampler's own (the registry rejects others with ValueError)."""
        if lowres is None:
            if self.preview_lowres is None or num is None:
                raise ValueError("SRDiffusionObjective.sample needs lowres [N, h, h, C] (no "
                                 "preview inputs were given to the objective)")
            lowres = jnp.asarray(self.preview_lowres[:num])
        lowres = jnp.asarray(lowres, jnp.float32)
        want = (self.lowres_size, self.lowres_size, self.image_shape[2])
        if lowres.ndim != 4 or tuple(lowres.shape[1:]) != want:
            raise ValueError(f"lowres: expected [N, {want[0]}, {want[1]}, {want[2]}], got {lowres.shape}")
        n = lowres.shape[0]
        keys = per_sample_keys(key, n) if jnp.ndim(key) == 1 else key
        aug_noise = jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, 3), self.image_shape))(keys)
        s = jnp.full((n,), aug_level, jnp.float32)
        z_up = augment(self.process, self.upsample(lowres), s, aug_noise)
        views = build_views(self.model_fn(params, z_up, s, labels, guidance), self.process,
                            self.prediction, self.vp_timesteps)
        return draw(sampler, views, keys, self.image_shape, None, num_steps, **given(**options))

    def preview(self, params, key, num: int):
        """[2·N, H, W, C]: N upsampled (bicubic) preview inputs above the model's N outputs."""
        n = min(num, len(self.preview_lowres)) if self.preview_lowres is not None else 0
        if n == 0:
            raise ValueError("SRDiffusionObjective.preview needs preview_lowres")
        lowres = jnp.asarray(self.preview_lowres[:n])
        labels = jnp.arange(n) % self.num_classes if self.num_classes else None
        x = self.sample(params, key, n, sampler=self.preview_sampler, num_steps=self.preview_steps,
                        labels=labels, lowres=lowres)
        return jnp.concatenate([jnp.clip(upsample(lowres, self.image_shape[0], "bicubic"), -1, 1), x])
