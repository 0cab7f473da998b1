"""The train state and the gradient step shared by every gradient-trained objective."""

from __future__ import annotations

from typing import Any, Callable

import flax.struct
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
    """Immutable training state: a pytree, donated to and returned by the jitted step.

    rng is a raw uint32 [2] key; the step's randomness is fold_in(rng, step), so a resumed run
    draws the same numbers as an uninterrupted one.
    """

    step: jnp.ndarray
    params: Any
    ema_params: Any
    opt_state: Any
    rng: jnp.ndarray


def create_state(params, tx: optax.GradientTransformation, rng) -> TrainState:
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      ema_params=jax.tree.map(jnp.copy, params), opt_state=tx.init(params),
                      rng=jnp.asarray(rng))


def ema_update(ema, params, decay, step):
    """EMA with a warm-up (decay ramps as (1+n)/(10+n), as in TF's ExponentialMovingAverage)."""
    d = jnp.minimum(decay, (1.0 + step) / (10.0 + step))
    return jax.tree.map(lambda e, p: d * e + (1.0 - d) * p, ema, params)


def make_optimizer(learning_rate: float, warmup_steps: int = 0, grad_clip: float | None = 1.0,
                   weight_decay: float = 0.0, b1: float = 0.9, b2: float = 0.999,
                   decay_steps: int | None = None):
    """AdamW with linear warm-up (then constant, or cosine decay to 0 over decay_steps) and
    global-norm clipping. Returns (tx, schedule)."""
    if learning_rate <= 0:
        raise ValueError(f"optim.learning_rate must be > 0, got {learning_rate}")
    if warmup_steps < 0:
        raise ValueError(f"optim.warmup_steps must be >= 0, got {warmup_steps}")
    if decay_steps and warmup_steps:
        schedule = optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup_steps,
                                                      max(decay_steps, warmup_steps + 1))
    elif decay_steps:  # no warm-up: the first step at the full rate (a 1-step warm-up would make it 0)
        schedule = optax.cosine_decay_schedule(learning_rate, decay_steps)
    elif warmup_steps:
        schedule = optax.join_schedules(
            [optax.linear_schedule(0.0, learning_rate, warmup_steps),
             optax.constant_schedule(learning_rate)], [warmup_steps])
    else:
        schedule = optax.constant_schedule(learning_rate)
    parts = [optax.clip_by_global_norm(grad_clip)] if grad_clip else []
    parts.append(optax.adamw(schedule, b1=b1, b2=b2, weight_decay=weight_decay))
    return optax.chain(*parts), schedule


def gradient_step(state: TrainState, loss_fn: Callable, tx: optax.GradientTransformation,
                  schedule: Callable, ema_decay: float):
    """One optimiser step on loss_fn(params, key) -> scalar. Returns (state, metrics)."""
    key = jax.random.fold_in(state.rng, state.step)
    loss, grads = jax.value_and_grad(loss_fn)(state.params, key)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ema = ema_update(state.ema_params, params, ema_decay, state.step)
    metrics = {"loss": loss, "grad_norm": optax.global_norm(grads),
               "learning_rate": schedule(state.step)}
    return state.replace(step=state.step + 1, params=params, ema_params=ema,
                         opt_state=opt_state), metrics
