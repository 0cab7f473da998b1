"""Token-model objectives over a frozen VQ-VAE's grid: raster next-token prediction with a
decoder-only transformer (VQGAN stage 2, Esser et al. 2021), and MaskGIT's masked-token
prediction with a bidirectional one (Chang et al. 2022). Both tokenize each batch on the fly,
drop the class label with probability cond_drop_prob (classifier-free guidance, Ho & Salimans
2022, on logits), and sample tokens that the tokenizer decodes to images."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from gen_jax.ar.sampling import maskgit_decode, raster_decode, training_mask
from gen_jax.ar.tokenizer import VQVAEObjective
from gen_jax.nn.transformer import TokenTransformer
from gen_jax.train.state import TrainState, create_state, gradient_step


def _unguided(labels, guidance) -> bool:
    """No null-class pass needed: unconditional, or a guidance weight known (not traced) to be 1."""
    return labels is None or (isinstance(guidance, (int, float)) and guidance == 1.0)


def guided(logits_cond, logits_null, guidance):
    """Classifier-free guidance on logits: ℓ_null + w·(ℓ_cond − ℓ_null) (w = 1: conditional)."""
    return logits_null + guidance * (logits_cond - logits_null)


@dataclasses.dataclass(frozen=True)
class _TokenObjective:
    model: TokenTransformer
    vqvae: VQVAEObjective            # the frozen tokenizer (not "tokenizer": that name marks text models)
    vqvae_params: Any                # its state.ema_params, frozen
    image_shape: tuple               # (H, W, C)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    num_classes: int | None = None
    cond_drop_prob: float = 0.1      # P(label replaced by the null class) in training
    ema_decay: float = 0.999

    @property
    def token_shape(self) -> tuple:
        return self.vqvae.token_shape

    def tokens(self, x):
        """x [B, H, W, C] -> raster-order tokens [B, L] of the frozen tokenizer."""
        codes = self.vqvae.encode_tokens(self.vqvae_params, x)
        return jax.lax.stop_gradient(codes.reshape(x.shape[0], -1))

    def decode(self, tokens):
        """tokens [B, L] -> images [B, H, W, C] in [-1, 1]."""
        return self.vqvae.decode_tokens(self.vqvae_params,
                                            tokens.reshape(tokens.shape[0], *self.token_shape))

    def _train_labels(self, batch, key):
        b = batch["image"].shape[0]
        if not self.num_classes:
            return None
        drop = jax.random.bernoulli(key, self.cond_drop_prob, (b,))
        return jnp.where(drop, self.model.null_class, batch["label"].astype(jnp.int32))

    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        toks = jnp.zeros((batch_size, self.model.seq_len), jnp.int32)
        params = self.model.init({"params": k_params}, toks)["params"]
        return create_state(params, self.tx, k_state)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on {"image": [B, H, W, C], "label": [B]} (labels used when conditional)."""
        def loss_fn(params, key):
            k_drop, k_mask = jax.random.split(key)
            return self.loss(params, self.tokens(batch["image"]), self._train_labels(batch, k_drop), k_mask)
        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)

    def _sample_labels(self, labels, batch: int):
        if not self.num_classes:
            if labels is not None:
                raise ValueError("labels given to an unconditional token model (objective.num_classes is None)")
            return None
        return jnp.arange(batch) % self.num_classes if labels is None else jnp.asarray(labels, jnp.int32)

    def _keys(self, key, num):
        return jax.random.split(key, num) if jnp.ndim(key) == 1 else key

    def preview(self, params, key, num: int):
        return self.sample(params, key, num)


@dataclasses.dataclass(frozen=True)
class RasterARObjective(_TokenObjective):
    """Next-token prediction in raster order; sampling is a lax.scan over positions with a KV cache."""

    def loss(self, params, tokens, labels, key):
        del key
        logits = self.model.apply({"params": params}, tokens, labels)
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, tokens))

    def logits(self, params, tokens, labels=None):
        """Full recomputation: tokens [B, L] -> logits [B, L, K] (position i predicts token i)."""
        return self.model.apply({"params": params}, tokens, labels)

    def decode_step_fn(self, params, labels, guidance):
        """decode_step(prev, pos, cache) for raster_decode. With labels and guidance != 1 the cache
        holds 2B rows (conditional, then null class) and the logits are guided."""
        apply = lambda prev, lab, pos, cache: self.model.apply(  # noqa: E731
            {"params": params}, prev, lab, pos, cache, method=TokenTransformer.decode_step)
        if _unguided(labels, guidance):
            return lambda prev, pos, cache: apply(prev, labels, pos, cache)

        null = jnp.full_like(labels, self.model.null_class)

        def step(prev, pos, cache):
            logits, cache = apply(jnp.concatenate([prev, prev]), jnp.concatenate([labels, null]), pos, cache)
            cond, uncond = jnp.split(logits, 2)
            return guided(cond, uncond, guidance), cache
        return step

    def sample_tokens(self, params, keys, labels=None, guidance=1.0, temperature=1.0, top_k=0,
                      top_p=1.0, debug: bool = False):
        """Tokens [B, L] for per-sample keys [B, 2]."""
        b = keys.shape[0]
        cache = self.model.init_cache(b if _unguided(labels, guidance) else 2 * b)
        step = self.decode_step_fn(params, labels, guidance)
        return raster_decode(step, cache, keys, self.model.seq_len, temperature, top_k, top_p, debug)

    def sample(self, params, key, num: int | None = None, *, labels=None, guidance=None,
               temperature=1.0, top_k=0, top_p=1.0):
        """Images [N, H, W, C] in [-1, 1]. key: one key (with num) or per-sample keys [N, 2].
        labels [N] (default i % num_classes), guidance (CFG weight on logits; None or 1: none),
        temperature (0: greedy), top_k (0: off), top_p (1: off); all runtime values."""
        keys = self._keys(key, num)
        labels = self._sample_labels(labels, keys.shape[0])
        guidance = 1.0 if guidance is None else guidance
        return self.decode(self.sample_tokens(params, keys, labels, guidance, temperature, top_k, top_p))


@dataclasses.dataclass(frozen=True)
class MaskGITObjective(_TokenObjective):
    """Masked-token prediction (cross-entropy on the masked positions only); decoding in
    num_steps parallel steps with a cosine schedule."""

    num_steps: int = 8               # default decoding steps of sample/preview
    choice_temperature: float = 4.5  # Gumbel noise on the confidences (annealed to 0), MaskGIT's default

    def loss(self, params, tokens, labels, key):
        mask = training_mask(key, tokens.shape[0], tokens.shape[1])
        logits = self.model.apply({"params": params}, jnp.where(mask, self.model.mask_id, tokens), labels)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, tokens)
        return jnp.sum(ce * mask) / jnp.sum(mask)

    def logits_fn(self, params, labels, guidance):
        apply = lambda t, lab: self.model.apply({"params": params}, t, lab)  # noqa: E731
        if _unguided(labels, guidance):
            return lambda t: apply(t, labels)
        null = jnp.full_like(labels, self.model.null_class)

        def fn(tokens):
            cond, uncond = jnp.split(apply(jnp.concatenate([tokens, tokens]),
                                           jnp.concatenate([labels, null])), 2)
            return guided(cond, uncond, guidance)
        return fn

    def sample_tokens(self, params, keys, labels=None, guidance=1.0, num_steps=None, temperature=1.0,
                      top_k=0, top_p=1.0, choice_temperature=None, debug: bool = False):
        """Tokens [B, L] for per-sample keys [B, 2]; num_steps is static (a scan length)."""
        ct = self.choice_temperature if choice_temperature is None else choice_temperature
        return maskgit_decode(self.logits_fn(params, labels, guidance), keys, self.model.seq_len,
                              self.model.mask_id, num_steps or self.num_steps, temperature, top_k,
                              top_p, ct, debug)

    def sample(self, params, key, num: int | None = None, *, labels=None, guidance=None,
               num_steps=None, temperature=1.0, top_k=0, top_p=1.0, choice_temperature=None):
        """Images [N, H, W, C] in [-1, 1]: labels, guidance as the raster objective's; num_steps
        (a Python int, static: one compilation each; default self.num_steps), temperature, top_k,
        top_p, choice_temperature (default self.choice_temperature)."""
        keys = self._keys(key, num)
        labels = self._sample_labels(labels, keys.shape[0])
        guidance = 1.0 if guidance is None else guidance
        return self.decode(self.sample_tokens(params, keys, labels, guidance, num_steps, temperature,
                                              top_k, top_p, choice_temperature))
