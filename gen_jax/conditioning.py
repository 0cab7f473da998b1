"""What a generative network is conditioned on, written once for every objective: nothing, a class
label, or a caption's tokens. Each kind gives the condition of a batch, the dummy condition for
`init`, the null condition (the unconditional branch of classifier-free guidance), the training
dropout to that null (Ho & Salimans 2022; Saharia et al. 2022 §2.2) and the guided network.

A condition is an array with the batch first: labels [B] int (the null class is num_classes),
tokens [B, L] (the null is the empty prompt), or None."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from gen_jax.samplers.guidance import cfg_apply


class Conditioner:
    """The shared part; a kind gives batch_key, dummy, null, absent and preview."""

    num_classes = None
    batch_key = None   # the batch entry holding the condition

    def of_batch(self, batch: dict):
        """The condition of a training batch, or None."""
        return batch.get(self.batch_key) if self.batch_key else None

    def dummy(self, batch: int):
        """A condition of the right shape for model.init."""
        return None

    def null(self, batch: int):
        """The null condition [batch, ...]."""
        return None

    def absent(self, batch: int):
        """What the network is given when sampling without a condition."""
        return None

    def preview(self, num: int):
        """Conditions of the training loop's preview grids (None: unconditional)."""
        return None

    def drop(self, key, cond, prob: float):
        """cond with each row replaced by the null condition with probability prob."""
        if cond is None or prob <= 0:
            return cond
        drop = jax.random.bernoulli(key, prob, cond.shape[:1])
        drop = drop.reshape(drop.shape + (1,) * (cond.ndim - 1))
        return jnp.where(drop, self.null(cond.shape[0]).astype(cond.dtype), cond)

    def guided(self, apply: Callable, cond=None, guidance=1.0, negative=None) -> Callable:
        """f(x_t, t) = apply(x_t, t, c) with classifier-free guidance at scale w between cond and
        the null condition, or `negative` [B, ...] in its place (cfg_apply: w = 0 unconditional,
        1 conditional, > 1 guided; a runtime value). cond None: the network given absent()."""

        def f(x_t, t):
            if cond is None:
                return apply(x_t, t, self.absent(x_t.shape[0]))
            null = self.null(cond.shape[0]) if negative is None else negative
            return cfg_apply(apply, x_t, t, cond, jnp.broadcast_to(jnp.asarray(null, cond.dtype),
                                                                   cond.shape), guidance)

        return f


class Unconditional(Conditioner):
    """No condition: the network is always called with None."""

    def drop(self, key, cond, prob: float):
        return None

    def guided(self, apply: Callable, cond=None, guidance=1.0, negative=None) -> Callable:
        return lambda x_t, t: apply(x_t, t, None)


@dataclasses.dataclass(frozen=True)
class ClassLabels(Conditioner):
    """Class labels [B] in [0, num_classes); the null class is num_classes."""

    num_classes: int
    batch_key = "label"

    def dummy(self, batch: int):
        return jnp.zeros((batch,), jnp.int32)

    def null(self, batch: int):
        return jnp.full((batch,), self.num_classes, jnp.int32)

    def preview(self, num: int):
        return jnp.arange(num) % self.num_classes


@dataclasses.dataclass(frozen=True)
class TextTokens(Conditioner):
    """Caption tokens [B, L] of `tokenizer` (gen_jax.nn.text); the null is the empty prompt."""

    tokenizer: Any
    preview_prompts: tuple = ()      # prompts of the training loop's preview grids
    batch_key = "tokens"

    def of_batch(self, batch: dict):
        return batch[self.batch_key]

    def dummy(self, batch: int):
        return self.null(batch)

    def null(self, batch: int):
        """The empty prompt [batch, L]: <bos> then padding."""
        return jnp.asarray(self.tokenizer.encode([""] * batch))

    def absent(self, batch: int):
        return self.null(batch)

    def preview(self, num: int):
        p = self.preview_prompts
        return jnp.asarray(self.tokenizer.encode([p[i % len(p)] for i in range(num)])) if p else None


UNCONDITIONAL = Unconditional()


def class_labels(num_classes: int | None) -> Conditioner:
    """ClassLabels(num_classes), or UNCONDITIONAL when num_classes is None or 0."""
    return ClassLabels(num_classes) if num_classes else UNCONDITIONAL
