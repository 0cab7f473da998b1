"""Text-to-image rectified flow: FlowObjective with a caption instead of a class label.

As diffusion/text_objective.py: the model is nn.text.TextConditioned, `labels` are token arrays
[B, L], the empty prompt is CFG's unconditional branch and the caption-dropout target."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gen_jax.diffusion.text_objective import drop_captions
from gen_jax.samplers.guidance import cfg_apply
from gen_jax.flow.objective import FlowObjective
from gen_jax.flow.rectified_flow import flow_matching_loss
from gen_jax.nn.text import Tokenizer
from gen_jax.train.state import TrainState, create_state, gradient_step


@dataclasses.dataclass(frozen=True)
class TextFlowObjective(FlowObjective):
    tokenizer: Tokenizer | None = None   # the run's vocabulary (prompts -> tokens)
    preview_prompts: tuple = ()          # prompts of the training loop's preview grids

    def __post_init__(self):
        super().__post_init__()
        if self.tokenizer is None:
            raise ValueError("TextFlowObjective needs a tokenizer")

    def empty_tokens(self, batch: int):
        """The empty prompt [batch, L]: <bos> then padding."""
        return jnp.asarray(self.tokenizer.encode([""] * batch))

    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.float32)
        params = self.model.init({"params": k_params}, x, t, self.empty_tokens(batch_size), train=False)["params"]
        return create_state(params, self.tx, k_state)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on a batch {"image": [B,H,W,C], "tokens": [B, L]}."""

        def loss_fn(params, key):
            k_loss, k_drop, k_cfg = jax.random.split(key, 3)
            tokens = drop_captions(k_cfg, batch["tokens"], self.empty_tokens(1)[0], self.cond_drop_prob)
            velocity = lambda x_t, t: self._apply(params, x_t, t, tokens, {"dropout": k_drop})
            return flow_matching_loss(velocity, batch["image"], k_loss, sampling=self.time_sampling,
                                      mean=self.logit_mean, scale=self.logit_scale, shift=self.shift)

        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)

    def velocity(self, params, labels=None, guidance=1.0, negative_labels=None):
        """(x_t, t) -> v for prompts labels [B, L] (None: the empty prompt), with classifier-free
        guidance at scale w against the empty (or negative) prompt (cfg_apply)."""

        def v(x_t, t):
            empty = self.empty_tokens(x_t.shape[0])
            if labels is None:
                return self._apply(params, x_t, t, empty)
            null = empty if negative_labels is None else negative_labels
            return cfg_apply(lambda x, s, c: self._apply(params, x, s, c), x_t, t, labels, null, guidance)

        return v

    def preview(self, params, key, num: int):
        """A quick grid: rf_euler, preview_steps steps, preview_prompts cycling (none: empty prompt)."""
        p = self.preview_prompts
        tokens = jnp.asarray(self.tokenizer.encode([p[i % len(p)] for i in range(num)])) if p else None
        return self.sample(params, key, num, sampler="rf_euler", num_steps=self.preview_steps, labels=tokens)
