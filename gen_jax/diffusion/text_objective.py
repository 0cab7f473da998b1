"""Text-to-image DDPM: DiffusionObjective with a caption instead of a class label.

The model is nn.text.TextConditioned, called as model(x_t, t, tokens [B, L], train). Everywhere the
base objective takes `labels`, this one takes token arrays [B, L] (so experiments.sampling's
batched generation passes prompts through unchanged). The empty prompt is the unconditional
branch of classifier-free guidance, and captions are replaced by it with probability
cond_drop_prob in training (Ho & Salimans 2022; Saharia et al. 2022 §2.2)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from gen_jax.diffusion.losses import diffusion_loss
from gen_jax.diffusion.objective import DiffusionObjective
from gen_jax.nn.text import Tokenizer
from gen_jax.samplers.guidance import cfg_apply
from gen_jax.train.state import TrainState, create_state, gradient_step


def drop_captions(key, tokens, empty, prob: float):
    """tokens [B, L] with each row replaced by the empty prompt `empty` [L] with probability prob."""
    if prob <= 0:
        return tokens
    drop = jax.random.bernoulli(key, prob, tokens.shape[:1])
    return jnp.where(drop[:, None], empty[None], tokens)


@dataclasses.dataclass(frozen=True)
class TextDiffusionObjective(DiffusionObjective):
    tokenizer: Tokenizer | None = None   # the run's vocabulary (prompts -> tokens)
    preview_prompts: tuple = ()          # prompts of the training loop's preview grids

    def __post_init__(self):
        super().__post_init__()
        if self.tokenizer is None:
            raise ValueError("TextDiffusionObjective needs a tokenizer")

    def empty_tokens(self, batch: int):
        """The empty prompt [batch, L]: <bos> then padding."""
        return jnp.asarray(self.tokenizer.encode([""] * batch))

    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.int32)
        params = self.model.init({"params": k_params}, x, t, self.empty_tokens(batch_size), train=False)["params"]
        return create_state(params, self.tx, k_state)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on a batch {"image": [B,H,W,C], "tokens": [B, L]}."""

        def loss_fn(params, key):
            k_loss, k_drop, k_cfg = jax.random.split(key, 3)
            tokens = drop_captions(k_cfg, batch["tokens"], self.empty_tokens(1)[0], self.cond_drop_prob)
            return diffusion_loss(self._apply, params, self.schedule, batch["image"], k_loss,
                                  self.prediction, tokens, rngs={"dropout": k_drop})

        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)

    def guided_model(self, params, labels=None, guidance=1.0, negative_labels=None):
        """model_fn(x_t, t) for prompts labels [B, L] (None: the empty prompt), with
        classifier-free guidance at scale w against the empty prompt, or against the negative
        prompts negative_labels [B, L] when given (cfg_apply)."""

        def model_fn(x_t, t):
            empty = self.empty_tokens(x_t.shape[0])
            if labels is None:
                return self._apply(params, x_t, t, empty, None)
            null = empty if negative_labels is None else negative_labels
            return cfg_apply(lambda x, s, c: self._apply(params, x, s, c, None), x_t, t, labels,
                             null, guidance)

        return model_fn

    def preview(self, params, key, num: int):
        """A quick grid: DDIM, 50 steps (at most T), preview_prompts cycling (none: empty prompt)."""
        p = self.preview_prompts
        tokens = jnp.asarray(self.tokenizer.encode([p[i % len(p)] for i in range(num)])) if p else None
        return self.sample(params, key, num, sampler="ddim",
                           num_steps=min(50, self.schedule.num_timesteps), labels=tokens)
