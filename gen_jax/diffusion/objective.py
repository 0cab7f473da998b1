"""The DDPM objective: network + discrete VP schedule + parametrisation, with its train step and
its samplers. The training loop calls init / step / sample and nothing else."""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.diffusion.losses import PREDICTIONS, diffusion_loss
from gen_jax.diffusion.schedules import DiscreteSchedule
from gen_jax.diffusion.process import TableVP
from gen_jax.objective import given
from gen_jax.samplers.ddpm_ddim import make_denoiser
from gen_jax.samplers.guidance import cfg_apply
from gen_jax.samplers.views import Views, draw, views_of
from gen_jax.train.state import TrainState, create_state, gradient_step


@dataclasses.dataclass(frozen=True)
class DiffusionObjective:
    model: nn.Module                 # called as model(x_t, t, labels, train=...)
    schedule: DiscreteSchedule
    image_shape: tuple               # (H, W, C)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    prediction: str = "eps"          # eps | x0 | v
    num_classes: int | None = None   # class-conditional when set; label num_classes = null class
    cond_drop_prob: float = 0.0      # classifier-free guidance: P(label -> null) in training
    ema_decay: float = 0.999

    def __post_init__(self):
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"objective.prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if not 0.0 <= self.cond_drop_prob <= 1.0:
            raise ValueError(f"objective.cond_drop_prob must be in [0, 1], got {self.cond_drop_prob}")

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.int32)
        labels = jnp.zeros((batch_size,), jnp.int32) if self.num_classes else None
        params = self.model.init({"params": k_params}, x, t, labels, train=False)["params"]
        return create_state(params, self.tx, k_state)

    def _apply(self, params, x_t, t, labels, rngs):
        return self.model.apply({"params": params}, x_t, t, labels, train=rngs is not None, rngs=rngs)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on a batch {"image": [B,H,W,C], "label": [B]}."""

        def loss_fn(params, key):
            k_loss, k_drop, k_cfg = jax.random.split(key, 3)
            labels = batch.get("label") if self.num_classes else None
            if labels is not None and self.cond_drop_prob > 0:
                drop = jax.random.bernoulli(k_cfg, self.cond_drop_prob, labels.shape)
                labels = jnp.where(drop, self.num_classes, labels)
            return diffusion_loss(self._apply, params, self.schedule, batch["image"], k_loss,
                                  self.prediction, labels, rngs={"dropout": k_drop})

        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)

    # --- sampling -------------------------------------------------------------------------
    def guided_model(self, params, labels=None, guidance=1.0, negative_labels=None):
        """model_fn(x_t, t_idx) -> the network's prediction, with classifier-free guidance at scale
        w (cfg_apply: w = 0 unconditional, 1 conditional, > 1 guided; a runtime value).
        negative_labels [B] replace the null class (guide away from those classes)."""

        def model_fn(x_t, t):  # t: the table index, int or float
            if labels is None or not self.num_classes:
                return self._apply(params, x_t, t, None, None)
            null = (jnp.full_like(labels, self.num_classes) if negative_labels is None
                    else jnp.broadcast_to(jnp.asarray(negative_labels, labels.dtype), labels.shape))
            return cfg_apply(lambda x, s, y: self._apply(params, x, s, y, None), x_t, t, labels,
                             null, guidance)

        return model_fn

    def views(self, params, labels=None, guidance=1.0, negative_labels=None) -> Views:
        """The guided model (guided_model) as every sampler sees it (gen_jax.samplers.views)."""
        model_fn = self.guided_model(params, labels, guidance, negative_labels)
        T = self.schedule.num_timesteps
        return views_of(lambda x_t, t: model_fn(x_t, t * T - 1.0), TableVP(self.schedule),
                        self.prediction, denoise=make_denoiser(model_fn, self.schedule, self.prediction))

    def denoiser(self, params, labels=None, guidance=1.0, negative_labels=None):
        """(x_t, t) -> (x0_hat, eps_hat) on self.schedule (the VP view of `views`)."""
        return self.views(params, labels, guidance, negative_labels).denoise

    def sample(self, params, key, num: int | None = None, *, sampler: str = "ddim", num_steps=50,
               labels=None, guidance=1.0, negative_labels=None, guide=None, **options):
        """Images [N, H, W, C] in [-1, 1]. key: one key (with num) or per-sample keys [N, 2];
        sample b depends only on its key (and label), never on N or the device count.

        sampler: any name in gen_jax.samplers.SAMPLERS; **options are that sampler's own (eta,
        spacing, shift, ...; None means its default). guide: denoiser -> denoiser applied before
        sampling (e.g. classifier guidance)."""
        views = self.views(params, labels, guidance, negative_labels)
        if guide is not None:
            views = views.map_denoise(guide)
        return draw(sampler, views, key, self.image_shape, num, num_steps, **given(**options))

    def preview(self, params, key, num: int):
        """A quick grid for the training loop: DDIM, 50 steps (at most T), labels cycling."""
        labels = jnp.arange(num) % self.num_classes if self.num_classes else None
        return self.sample(params, key, num, sampler="ddim",
                           num_steps=min(50, self.schedule.num_timesteps), labels=labels)


