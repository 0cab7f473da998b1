"""Training objective of a noise-conditional classifier (for classifier guidance), run by the
same training loop as every other objective."""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.diffusion.schedules import DiscreteSchedule
from gen_jax.samplers.guidance import classifier_loss
from gen_jax.train.state import TrainState, create_state, gradient_step


@dataclasses.dataclass(frozen=True)
class NoisyClassifierObjective:
    model: nn.Module                 # called as model(x_t, t, train=...) -> logits [B, K]
    schedule: DiscreteSchedule
    image_shape: tuple
    tx: optax.GradientTransformation
    lr_schedule: Callable
    num_classes: int
    ema_decay: float = 0.999

    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        params = self.model.init({"params": k_params}, x, jnp.zeros((batch_size,), jnp.int32))["params"]
        return create_state(params, self.tx, k_state)

    def _apply(self, params, x_t, t, rngs=None):
        return self.model.apply({"params": params}, x_t, t, train=rngs is not None, rngs=rngs)

    def step(self, state: TrainState, batch: dict):
        def loss_fn(params, key):
            return classifier_loss(self._apply, params, self.schedule, batch["image"],
                                   batch["label"], key)

        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)

    def log_prob(self, params):
        """(x_t, t) -> log p(y | x_t, t) [B, K], for samplers.guidance.classifier_guided."""
        return lambda x_t, t: jax.nn.log_softmax(self._apply(params, x_t, t))

    def preview(self, params, key, num: int):  # nothing to draw: the loop's grids are off
        return jnp.zeros((num, *self.image_shape))
