"""The rectified-flow objective: a velocity network trained by flow matching on the straight path
x_t = (1 − t)·x0 + t·z, sampled by an ODE solver from t = 1 to 0. The training loop calls
init / step / preview and, for the final grid, sample."""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.samplers.guidance import cfg_apply

from gen_jax.diffusion.process import RectifiedFlowPath
from gen_jax.flow.rectified_flow import TIME_SAMPLINGS, flow_matching_loss
from gen_jax.objective import given
from gen_jax.samplers import registry
from gen_jax.samplers.views import Views, draw, noise, views_of
from gen_jax.train.state import TrainState, create_state, gradient_step


@dataclasses.dataclass(frozen=True)
class FlowObjective:
    model: nn.Module                 # called as model(x_t, t·time_scale, labels, train=...) -> v
    image_shape: tuple               # (H, W, C)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    time_sampling: str = "logit_normal"  # uniform | logit_normal
    logit_mean: float = 0.0          # logit-normal location (SD3: 0)
    logit_scale: float = 1.0         # logit-normal scale (SD3: 1)
    shift: float = 1.0               # SD3 resolution shift of the training times (1: none)
    time_scale: float = 1000.0       # t ∈ [0, 1] is fed to the net as t·time_scale (the sinusoidal
                                     # embedding was made for integer DDPM timesteps)
    num_classes: int | None = None   # class-conditional when set; label num_classes = null class
    cond_drop_prob: float = 0.0      # classifier-free guidance: P(label -> null) in training
    ema_decay: float = 0.999
    sample_shift: float = 1.0        # SD3 shift of the sampling time grid when sample() gets none
    preview_steps: int = 20          # Euler steps of the training loop's preview grids

    def __post_init__(self):
        if self.time_sampling not in TIME_SAMPLINGS:
            raise ValueError(f"objective.time_sampling must be one of {TIME_SAMPLINGS}, "
                             f"got {self.time_sampling!r}")
        if not 0.0 <= self.cond_drop_prob <= 1.0:
            raise ValueError(f"objective.cond_drop_prob must be in [0, 1], got {self.cond_drop_prob}")

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.float32)
        labels = jnp.zeros((batch_size,), jnp.int32) if self.num_classes else None
        params = self.model.init({"params": k_params}, x, t, labels, train=False)["params"]
        return create_state(params, self.tx, k_state)

    def _apply(self, params, x_t, t, labels, rngs=None):
        """v_hat [B, H, W, C] at times t [B] ∈ [0, 1]."""
        return self.model.apply({"params": params}, x_t, t * self.time_scale, labels,
                                train=rngs is not None, rngs=rngs)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on a batch {"image": [B,H,W,C], "label": [B]} and optionally
        "noise": [B,H,W,C], the z paired with each image (reflow: train on a flow's own pairs)."""

        def loss_fn(params, key):
            k_loss, k_drop, k_cfg = jax.random.split(key, 3)
            labels = batch.get("label") if self.num_classes else None
            if labels is not None and self.cond_drop_prob > 0:
                drop = jax.random.bernoulli(k_cfg, self.cond_drop_prob, labels.shape)
                labels = jnp.where(drop, self.num_classes, labels)
            velocity = lambda x_t, t: self._apply(params, x_t, t, labels, {"dropout": k_drop})
            return flow_matching_loss(velocity, batch["image"], k_loss, sampling=self.time_sampling,
                                      mean=self.logit_mean, scale=self.logit_scale, shift=self.shift,
                                      noise=batch.get("noise"))

        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)

    # --- sampling -------------------------------------------------------------------------
    def velocity(self, params, labels=None, guidance=1.0, negative_labels=None):
        """(x_t [B,H,W,C], t [B]) -> v [B,H,W,C], with classifier-free guidance at scale w
        (cfg_apply: w = 0 unconditional, 1 conditional, > 1 guided; a runtime value);
        negative_labels [B] replace the null class."""

        def v(x_t, t):
            if labels is None or not self.num_classes:
                return self._apply(params, x_t, t, None)
            null = (jnp.full_like(labels, self.num_classes) if negative_labels is None
                    else jnp.broadcast_to(jnp.asarray(negative_labels, labels.dtype), labels.shape))
            return cfg_apply(lambda x, s, y: self._apply(params, x, s, y), x_t, t, labels, null,
                             guidance)

        return v

    def views(self, params, labels=None, guidance=1.0, negative_labels=None) -> Views:
        """The velocity network as every sampler sees it: itself on the rectified-flow view, and
        converted onto the VP view of the straight path (gen_jax.samplers.views)."""
        return views_of(self.velocity(params, labels, guidance, negative_labels),
                        RectifiedFlowPath(), "velocity")

    def sample(self, params, key, num: int | None = None, *, sampler: str = "rf_euler", num_steps=50,
               labels=None, guidance=1.0, negative_labels=None, **options):
        """Images [N, H, W, C] (clipped to [-1, 1]). key: one key (with num) or per-sample keys
        [N, 2]; sample b depends only on its key (and label), never on N.

        sampler: any name in gen_jax.samplers.SAMPLERS (rf_euler / rf_heun integrate the velocity
        directly, with the SD3 shift `shift`, default sample_shift); **options are the sampler's
        own. num_steps, guidance and shift may be traced."""
        options = given(**options)
        if registry.get(sampler).view == "rf":
            options.setdefault("shift", self.sample_shift)
        return draw(sampler, self.views(params, labels, guidance, negative_labels), key,
                    self.image_shape, num, num_steps, **options)

    def noise(self, key, num: int | None = None):
        """The sampler's starting noise x1 [N, H, W, C] at t = 1: sample b's from its own key."""
        return noise(key, self.image_shape, num)

    def preview(self, params, key, num: int):
        """A quick grid for the training loop: Euler, preview_steps steps, labels cycling."""
        labels = jnp.arange(num) % self.num_classes if self.num_classes else None
        return self.sample(params, key, num, sampler="rf_euler", num_steps=self.preview_steps,
                           labels=labels)
