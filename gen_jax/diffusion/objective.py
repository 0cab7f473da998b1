"""The DDPM objective: network + discrete VP schedule + parametrisation, with its train step and
its samplers. The training loop calls init / step / sample and nothing else."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.diffusion.losses import PREDICTIONS, diffusion_loss
from gen_jax.diffusion.schedules import DiscreteSchedule
from gen_jax.samplers import SAMPLERS
from gen_jax.samplers.common import per_sample_keys
from gen_jax.samplers.ddpm_ddim import make_denoiser
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
    def denoiser(self, params, labels=None, guidance=1.0, negative_labels=None):
        """(x_t, t) -> (x0_hat, eps_hat). With labels, classifier-free guidance at scale w:
        out = f(x, ∅) + w·(f(x, y) − f(x, ∅))  (Ho & Salimans 2022, in the form diffusers uses):
        w = 0 is the unconditional model, w = 1 the conditional one, w > 1 guided. For other w,
        both halves come from one batched call; w is a runtime value, and at w = 0 or 1 a runtime
        branch makes a single call. negative_labels [B] replace ∅ (negative conditioning: guide
        away from those classes)."""

        def model_fn(x_t, t):
            if labels is None or not self.num_classes:
                return self._apply(params, x_t, t, None, None)
            null = (jnp.full_like(labels, self.num_classes) if negative_labels is None
                    else jnp.broadcast_to(jnp.asarray(negative_labels, labels.dtype), labels.shape))
            w = jnp.asarray(guidance, jnp.float32)

            def guided(_):
                out = self._apply(params, jnp.concatenate([x_t, x_t]), jnp.concatenate([t, t]),
                                  jnp.concatenate([labels, null]), None)
                cond, uncond = jnp.split(out, 2)
                return uncond + w * (cond - uncond)

            def single(_):
                return self._apply(params, x_t, t, jnp.where(w == 0, null, labels), None)

            return jax.lax.cond((w == 0) | (w == 1), single, guided, None)

        return make_denoiser(model_fn, self.schedule, self.prediction)

    def sample(self, params, key, num: int | None = None, *, sampler: str = "ddim", num_steps=50,
               eta=None, labels=None, guidance=1.0, spacing: str = "trailing", debug: bool = False,
               negative_labels=None, guide=None):
        """Images [N, H, W, C] in [-1, 1]. key: one key (with num) or per-sample keys [N, 2];
        sample b depends only on its key (and label), never on N or the device count.

        sampler: a name in SAMPLERS. eta and spacing go only to samplers that take them (eta:
        ddim's η, euler_ancestral's η; None keeps the sampler's default); the others ignore them.
        guide: denoiser -> denoiser applied before sampling (e.g. classifier guidance)."""
        fn = SAMPLERS.get(sampler)
        if fn is None:
            raise ValueError(f"unknown sampler {sampler!r}; expected one of {list(SAMPLERS)}")
        keys = per_sample_keys(key, num) if jnp.ndim(key) == 1 else key
        x_T = jax.vmap(lambda k: jax.random.normal(k, self.image_shape))(keys)
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
        denoise = self.denoiser(params, labels, guidance, negative_labels)
        if guide is not None:
            denoise = guide(denoise)
        takes = inspect.signature(fn).parameters
        options = {k: v for k, v in (("eta", eta), ("spacing", spacing)) if v is not None and k in takes}
        return fn(denoise, self.schedule, x_T, step_keys, num_steps, debug=debug, **options)

    def preview(self, params, key, num: int):
        """A quick grid for the training loop: DDIM, 50 steps (at most T), labels cycling."""
        labels = jnp.arange(num) % self.num_classes if self.num_classes else None
        return self.sample(params, key, num, sampler="ddim",
                           num_steps=min(50, self.schedule.num_timesteps), labels=labels)


Objective = Any  # anything with init(key), step(state, batch), preview(params, key, n)
